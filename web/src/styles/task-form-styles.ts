import { css } from 'lit';

/** The labelled selects and text areas of a task, and the row of buttons under them. */
export const taskFormStyles = css`
  .field {
    display: grid;
    gap: 0.25rem;
    min-width: 0;
  }

  label {
    font-weight: 600;
    font-size: 0.9375rem;
  }

  select,
  textarea {
    box-sizing: border-box;
    width: 100%;
    min-height: var(--dl-target-size);
    padding: 0.5rem 0.625rem;
    border: 1px solid var(--dl-color-field-border);
    border-radius: var(--dl-radius);
    background: var(--dl-color-surface);
    font: inherit;
    color: inherit;
  }

  textarea {
    resize: vertical;
    min-height: 2.75rem;
  }

  .actions {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.5rem 0.75rem;
  }
`;
