import { useId, useRef, useState, type ReactNode } from 'react';
import { ApiRequestError } from '../api/client.js';

export interface ConfirmButtonProps {
  /** The button's label ("Roll back"). */
  label: string;
  /** The dialog's title. */
  title: string;
  /** What will happen, to whom ("About 12,400 users will stop seeing new-checkout"). */
  consequence: ReactNode;
  /** Label of the confirming button; default `label`. */
  confirmLabel?: string;
  danger?: boolean;
  /** Ask for a reason or comment (required when `reasonRequired`). */
  reason?: 'optional' | 'required';
  onConfirm: (reason: string) => Promise<unknown>;
}

/**
 * A button whose action runs only after a confirmation that says exactly
 * what will happen. A native modal <dialog>: focus moves into it and stays,
 * Escape closes it, the page behind is inert.
 */
export function ConfirmButton({ label, title, consequence, confirmLabel, danger, reason, onConfirm }: ConfirmButtonProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const id = useId();
  const close = () => {
    dialog.current?.close();
    setError(undefined);
    setText('');
  };
  const confirm = async () => {
    if (reason === 'required' && text.trim() === '') {
      setError('Say why: the reason is kept in the decision log.');
      return;
    }
    setBusy(true);
    try {
      await onConfirm(text.trim());
      close();
    } catch (e) {
      setError(e instanceof ApiRequestError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className={danger ? 'btn btn-danger' : 'btn'} onClick={() => dialog.current?.showModal()}>
        {label}
      </button>
      <dialog ref={dialog} className="dialog" aria-labelledby={`${id}-title`} aria-describedby={`${id}-what`} onClose={() => setError(undefined)}>
        <h2 id={`${id}-title`}>{title}</h2>
        <div id={`${id}-what`} className="dialog-what">
          {consequence}
        </div>
        {reason !== undefined && (
          <label className="field">
            <span>{reason === 'required' ? 'Reason (required)' : 'Comment (optional)'}</span>
            <textarea value={text} onChange={(e) => setText(e.target.value)} rows={2} />
          </label>
        )}
        {error !== undefined && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={close}>
            Cancel
          </button>
          <button type="button" className={danger ? 'btn btn-danger' : 'btn btn-primary'} onClick={() => void confirm()} disabled={busy}>
            {confirmLabel ?? label}
          </button>
        </div>
      </dialog>
    </>
  );
}
