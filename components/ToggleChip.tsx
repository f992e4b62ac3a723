import type { ComponentChildren } from "preact";

/**
 * A filter that is on or off: a real toggle button (`aria-pressed`) with a check mark, so the
 * state reads without colour.
 */
export function ToggleChip(
  { pressed, onClick, children, testid }: {
    pressed: boolean;
    onClick: () => void;
    children: ComponentChildren;
    testid?: string;
  },
) {
  return (
    <button
      type="button"
      class="chip"
      aria-pressed={pressed}
      onClick={onClick}
      data-testid={testid}
    >
      <span class="chip-box" aria-hidden="true">
        <svg viewBox="0 0 12 12" width="12" height="12">
          <path d="M2.5 6.2 5 8.6 9.6 3.6" fill="none" stroke="currentColor" stroke-width="1.8" />
        </svg>
      </span>
      {children}
    </button>
  );
}
