import { css } from 'lit';

/**
 * Styles several elements share. The colours and sizes are the custom properties defined on :root in
 * public/base.css.
 */

/** Form controls take the page font, and every focusable thing gets the same clearly visible ring. */
export const controlStyles = css`
  button,
  input {
    font: inherit;
    color: inherit;
  }

  :focus-visible {
    outline: 3px solid var(--dl-color-focus);
    outline-offset: 2px;
  }
`;

/** The main action of a view, e.g. "Log in". */
export const primaryButtonStyles = css`
  .primary {
    min-height: var(--dl-target-size);
    padding: 0.625rem 1.25rem;
    border: 0;
    border-radius: var(--dl-radius);
    background: var(--dl-color-primary);
    color: var(--dl-color-on-primary);
    font-weight: 600;
    cursor: pointer;
  }

  .primary:hover:not(:disabled) {
    background: var(--dl-color-primary-hover);
  }

  .primary:disabled {
    cursor: progress;
    opacity: 0.7;
  }
`;

/** A message about something that went wrong, placed in an element with role="alert". */
export const alertStyles = css`
  .alert {
    margin: 0;
    padding: 0.75rem 1rem;
    border: 1px solid var(--dl-color-danger-border);
    border-radius: var(--dl-radius);
    background: var(--dl-color-danger-surface);
    color: var(--dl-color-danger-text);
  }
`;

/** A button next to the main action, e.g. "Cancel". */
export const secondaryButtonStyles = css`
  .secondary {
    min-height: var(--dl-target-size);
    padding: 0.5rem 1rem;
    border: 1px solid var(--dl-color-field-border);
    border-radius: var(--dl-radius);
    background: var(--dl-color-surface);
    font-weight: 600;
    cursor: pointer;
  }

  .secondary:hover:not(:disabled) {
    background: var(--dl-color-surface-hover);
  }

  .secondary:disabled {
    cursor: not-allowed;
    opacity: 0.6;
  }
`;

/** A raised panel of the work area. */
export const cardStyles = css`
  .card {
    box-sizing: border-box;
    padding: 1.25rem 1.5rem;
    border: 1px solid var(--dl-color-border);
    border-radius: calc(var(--dl-radius) * 1.5);
    background: var(--dl-color-surface);
    box-shadow: var(--dl-shadow-raised);
  }
`;

/** Text for screen readers only, such as a live region's announcement. */
export const visuallyHiddenStyles = css`
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
`;

/** A labelled text field: `<div class="field"><label>…</label><input>…<p class="hint">…</p></div>`. */
export const fieldStyles = css`
  .field {
    display: grid;
    gap: 0.375rem;
  }

  label {
    font-weight: 600;
  }

  input:not([type='file']) {
    min-height: var(--dl-target-size);
    box-sizing: border-box;
    padding: 0.5rem 0.75rem;
    border: 1px solid var(--dl-color-field-border);
    border-radius: var(--dl-radius);
    background: var(--dl-color-surface);
  }

  input:focus-visible {
    outline-offset: 0;
    border-color: var(--dl-color-focus);
  }

  .hint {
    margin: 0;
    color: var(--dl-color-text-muted);
    font-size: 0.875rem;
  }
`;

/** A short confirmation that something worked, placed in an element with role="status". */
export const successStyles = css`
  .success {
    margin: 0;
    padding: 0.75rem 1rem;
    border: 1px solid var(--dl-color-success-border);
    border-radius: var(--dl-radius);
    background: var(--dl-color-success-surface);
    color: var(--dl-color-success-hover);
  }
`;
