// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { ApiRequestError } from '../api/client.js';
import { ConfirmButton } from './ConfirmButton.js';

afterEach(cleanup);

describe('a confirmed action', () => {
  it('runs only after the confirmation, which says what happens, and asks for a required reason', async () => {
    const onConfirm = vi.fn(async (_reason: string) => undefined);
    render(<ConfirmButton label="Hold" title="Hold this rollout?" consequence="Nothing moves until a person resumes." reason="required" onConfirm={onConfirm} />);
    fireEvent.click(screen.getByRole('button', { name: 'Hold' }));
    expect(screen.getByText('Nothing moves until a person resumes.')).toBeTruthy();
    const buttons = screen.getAllByRole('button', { name: 'Hold', hidden: true });
    const confirm = buttons[buttons.length - 1] as HTMLElement;
    fireEvent.click(confirm);
    await screen.findByText(/Say why/);
    expect(onConfirm).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText('Reason (required)'), { target: { value: ' waiting for support ' } });
    fireEvent.click(confirm);
    await waitFor(() => expect(onConfirm).toHaveBeenCalledWith('waiting for support'));
  });

  it("shows the API's refusal in the dialog", async () => {
    const onConfirm = vi.fn(async () => {
      throw new ApiRequestError(403, { code: 'SELF_APPROVAL', message: 'Authors cannot approve their own change', details: {}, requestId: 'r' });
    });
    render(<ConfirmButton label="Approve" title="Approve?" consequence="Counts toward the approvals." onConfirm={onConfirm} />);
    fireEvent.click(screen.getByRole('button', { name: 'Approve' }));
    const buttons = screen.getAllByRole('button', { name: 'Approve', hidden: true });
    fireEvent.click(buttons[buttons.length - 1] as HTMLElement);
    expect((await screen.findByRole('alert', { hidden: true })).textContent).toBe('Authors cannot approve their own change');
  });
});
