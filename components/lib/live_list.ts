/// <reference lib="dom" />
/**
 * Lists read a page at a time from the admin API: their state in the URL, and logs kept live
 * from the event stream.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.ts";
import { type LiveEvent, refreshOn } from "./live.ts";

/** Rows a log reads at a time. */
export const LOG_PAGE = 50;

/** A page of a log: its rows, newest first, and the cursor to go on (null: no more). */
export interface LogPage<Row> {
  rows: Row[];
  cursor: string | null;
}

/** A view's state as query parameters; an unset or empty one is left out. */
type Params = Record<string, string | undefined>;

/** The query string of a view's state, so a reload or a shared link shows the same. */
export function searchOf(params: Params): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
  const text = query.toString();
  return text ? `?${text}` : location.pathname;
}

/** Newest first, by id (ids are in time order): the fresh first page, then older rows kept. */
export function mergeNewest<T extends { id: string }>(fresh: T[], kept: T[]): T[] {
  const oldest = fresh.at(-1)?.id;
  if (oldest === undefined) return kept;
  return [...fresh, ...kept.filter((row) => row.id < oldest)];
}

/**
 * A log shown newest first, a page at a time ("Load more"), and kept live: a burst of the
 * events `concerns` picks becomes one read of the newest page, merged in front of the rows
 * loaded. A view that starts at a cursor (`from`: a reload after "Load more") is an older
 * page: it stays as it is, and only says that newer rows came (`newer`). The filters and the
 * cursor of the page loaded last are kept in the URL.
 */
export function useLiveLog<Row extends { id: string }, Filters extends Params>(
  { initial, filters: start, from: startFrom, read, concerns, wait, failure }: {
    initial: LogPage<Row>;
    filters: Filters;
    /** The cursor the first row starts at; none: the newest. */
    from?: string;
    /** Reads a page (`cursor`: where it starts; none: the newest). */
    read: (query: Filters & { limit: string; cursor?: string }) => Promise<LogPage<Row>>;
    /** The events after which the log may have new rows. */
    concerns: (event: LiveEvent) => boolean;
    /** How long a burst of events lasts at most, in ms. */
    wait: number;
    /** What a failed read says when the API gave no reason. */
    failure: string;
  },
) {
  const [rows, setRows] = useState(initial.rows);
  const [next, setNext] = useState(initial.cursor);
  const [filters, setFilters] = useState(start);
  const [from, setFrom] = useState(startFrom);
  const [newer, setNewer] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // What the log shows now, for reads started by events and polls.
  const state = useRef({ filters, from });
  state.current = { filters, from };

  const readPage = (cursor?: string) =>
    read({ ...state.current.filters, limit: String(LOG_PAGE), cursor });
  const fail = (e: unknown) => setError(e instanceof ApiError ? e.message : failure);

  useEffect(() => {
    const refresh = () => {
      if (state.current.from) return;
      readPage().then((page) => {
        setRows((kept) => mergeNewest(page.rows, kept));
        setNext((cursor) => (page.rows.length < LOG_PAGE ? page.cursor : cursor));
        setError(null);
      }).catch(fail);
    };
    return refreshOn(
      (event) => {
        if (!concerns(event)) return false;
        if (state.current.from) setNewer(true);
        return !state.current.from;
      },
      refresh,
      wait,
    );
  }, []);

  /** Shows the newest page for these filters (a filter changed, or "Back to newest"). */
  const show = (shown: Filters) => {
    state.current = { filters: shown, from: undefined };
    setFilters(shown);
    setFrom(undefined);
    setNewer(false);
    history.replaceState(null, "", searchOf(shown));
    setLoading(true);
    readPage().then((page) => {
      setRows(page.rows);
      setNext(page.cursor);
      setError(null);
    }).catch(fail).finally(() => setLoading(false));
  };

  /** Appends the next older page. */
  const loadMore = () => {
    if (!next) return;
    setLoading(true);
    readPage(next).then((page) => {
      setRows((
        kept,
      ) => [...kept, ...page.rows.filter((row) => !kept.some((k) => k.id === row.id))]);
      setNext(page.cursor);
      setError(null);
      // A reload comes back to the page loaded last.
      history.replaceState(null, "", searchOf({ ...state.current.filters, cursor: next }));
    }).catch(fail).finally(() => setLoading(false));
  };

  return { rows, next, filters, from, newer, loading, error, show, loadMore };
}
