import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/**
 * A modal dialog asking an admin to confirm a change, shown while `asking` is set. Focus goes
 * to Cancel when it opens; Cancel and Escape close it (`onClose`); on closing, focus returns
 * to the element that opened it, or to `focusAfter` when the caller set it (the opener went
 * away with its row, say). The change is recorded in the audit log, as the dialog says.
 */
export function ConfirmDialog<T>(
  { asking, titleId, answer, busy = false, error, onConfirm, onClose, focusAfter, children }: {
    /** What is asked; null: the dialog is closed. */
    asking: T | null;
    /** The id of the heading among `children`, which names the dialog. */
    titleId: string;
    /** The confirming button: its words, and whether it is the destructive kind. */
    answer: (asking: T) => { label: string; danger: boolean };
    /** A confirmation is under way: the confirming button waits. */
    busy?: boolean;
    /** Why the last confirmation failed, said in the dialog. */
    error?: string | null;
    onConfirm: (asking: T) => void;
    onClose: () => void;
    /** Where focus goes on closing instead of the opener; cleared once used. */
    focusAfter?: { current: HTMLElement | null };
    /** The question: a heading with the id `titleId`, and what the change does. */
    children: (asking: T) => ComponentChildren;
  },
) {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);

  useEffect(() => {
    const open = asking !== null;
    if (open && !dialog.current?.open) {
      opener.current = document.activeElement as HTMLElement | null;
      dialog.current?.showModal();
    }
    if (!open && dialog.current?.open) dialog.current.close();
    if (!open) {
      const target = focusAfter?.current ?? opener.current;
      if (target?.isConnected) target.focus();
      if (focusAfter) focusAfter.current = null;
      opener.current = null;
    }
  }, [asking]);

  const question = (asking: T) => {
    const button = answer(asking);
    return (
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          onConfirm(asking);
        }}
      >
        {children(asking)}
        <p class="muted small">The change is recorded in the audit log.</p>
        {error && <p class="error-text" role="alert">{error}</p>}
        <div class="dialog-actions">
          <button type="button" onClick={onClose} autofocus>
            Cancel
          </button>
          <button type="submit" class={button.danger ? "danger" : "primary"} disabled={busy}>
            {button.label}
          </button>
        </div>
      </form>
    );
  };
  return (
    <dialog ref={dialog} class="confirm-dialog" aria-labelledby={titleId} onClose={onClose}>
      {asking !== null && question(asking)}
    </dialog>
  );
}
