import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { Plan } from '@rollgate/core';
import { api, seg } from '../../api/client.js';
import { useSession } from '../../api/session.js';
import type { MetricSeries, Page, RolloutDecision, RolloutDetail, RolloutExperiment, RolloutRollback } from '../../api/types.js';
import { ConfirmButton } from '../../components/ConfirmButton.js';
import { describeWaitingFor, formatDuration, formatTime, statusLabel } from '../../components/format.js';
import { QueryState } from '../../components/QueryState.js';
import { StatusLight } from '../../components/StatusLight.js';
import { MetricTile } from './MetricTile.js';
import { actionConsequence, dailyMetrics, daysWithData, stageTimeline, type RolloutAction } from './rollout-model.js';

const ACTIVE = ['running', 'held', 'awaiting_approval'];

/** One rollout: where it is, how its metrics look against its gates, what people can do, and what happened. */
export function RolloutPage() {
  const { projectKey = '', rolloutId = '' } = useParams();
  const base = `/api/projects/${seg(projectKey)}/rollouts/${seg(rolloutId)}`;
  const detail = useQuery({ queryKey: ['rollout', rolloutId, 'detail'], queryFn: () => api<RolloutDetail>('GET', base) });
  const decisions = useQuery({ queryKey: ['rollout', rolloutId, 'decisions'], queryFn: () => api<Page<RolloutDecision>>('GET', `${base}/decisions?limit=200`) });
  const rollbacks = useQuery({ queryKey: ['rollout', rolloutId, 'rollbacks'], queryFn: () => api<Page<RolloutRollback>>('GET', `${base}/rollbacks?limit=50`) });
  // Metrics arrive without an audit event: refresh the tiles every few seconds as well.
  const series = useQuery({ queryKey: ['rollout', rolloutId, 'series'], queryFn: () => api<MetricSeries>('GET', `${base}/metric-series`), refetchInterval: 10_000 });
  return (
    <QueryState query={detail}>
      {(r) => (
        <RolloutView
          r={r}
          base={base}
          decisions={decisions.data?.items ?? []}
          rollbacks={rollbacks.data?.items ?? []}
          series={series.data}
        />
      )}
    </QueryState>
  );
}

function RolloutView({ r, base, decisions, rollbacks, series }: { r: RolloutDetail; base: string; decisions: RolloutDecision[]; rollbacks: RolloutRollback[]; series: MetricSeries | undefined }) {
  const plan = r.plan as unknown as Plan;
  const s = r.statusSummary;
  const stage = plan.stages[r.stageIndex];
  const hasExperiment = stage?.experiment !== undefined && ACTIVE.includes(r.status);
  return (
    <>
      <p className="crumbs">
        <Link to="/">Rollouts</Link> / {r.projectKey}
      </p>
      <h1>
        {r.flagKey} <span className="muted">in {s.environment ?? r.environmentKey}</span>
      </h1>
      <section className="status-block" aria-label="Current status">
        <StatusLight health={s.health} reason={s.summary} />
        <dl className="facts">
          <div>
            <dt>Status</dt>
            <dd>{statusLabel(r.status)}</dd>
          </div>
          <div>
            <dt>Phase</dt>
            <dd>
              {s.phase} of {s.phases}
              {s.stageName !== undefined ? `: ${s.stageName}` : ''}
            </dd>
          </div>
          <div>
            <dt>Users</dt>
            <dd>
              {s.percentage}%{s.segments.length > 0 ? ` + ${s.segments.join(', ')}` : ''}
            </dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>{s.startDate ?? 'not started'}</dd>
          </div>
          <div>
            <dt>Days in phase</dt>
            <dd>{s.daysInPhase}</dd>
          </div>
          <div>
            <dt>Plan</dt>
            <dd>
              {r.planKey} v{r.planVersion}
            </dd>
          </div>
        </dl>
        <p className="why">
          <strong>Why:</strong> {s.summary}
        </p>
        {s.waitingFor.length > 0 && (
          <p>
            <strong>Waiting for:</strong> {s.waitingFor.map((w) => describeWaitingFor(w)).join('; ')}
          </p>
        )}
      </section>
      <Actions r={r} plan={plan} base={base} />
      <StageTimelineView plan={plan} r={r} decisions={decisions} now={series?.now ?? Date.parse(r.updatedAt)} />
      <section aria-labelledby="metrics-h">
        <h2 id="metrics-h">Metrics of this stage</h2>
        {series === undefined ? (
          <p aria-live="polite">Loading metrics…</p>
        ) : series.metrics.length === 0 ? (
          <p>This stage reads no metrics.</p>
        ) : (
          <div className="tiles">
            {series.metrics.map((m) => (
              <MetricTile key={m.metric} tile={m} />
            ))}
          </div>
        )}
      </section>
      {series !== undefined && series.metrics.length > 0 && <DailyMetrics series={series} />}
      {stage !== undefined && <Checklist r={r} plan={plan} base={base} />}
      {hasExperiment && <Experiment base={base} id={r.id} />}
      <RollbackHistory rollbacks={rollbacks} />
      <DecisionLog decisions={decisions} />
    </>
  );
}

function useRolloutAction(base: string, id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ path, body }: { path: string; body: unknown }) => api('POST', `${base}/${path}`, body),
    onSuccess: () => client.invalidateQueries({ queryKey: ['rollout', id] }).then(() => client.invalidateQueries({ queryKey: ['overview'] })),
  });
}

function Actions({ r, plan, base }: { r: RolloutDetail; plan: Plan; base: string }) {
  const { can } = useSession();
  const action = useRolloutAction(base, r.id);
  if (!can('editor')) return null;
  const run = (path: string, body: unknown) => action.mutateAsync({ path, body });
  const what = (a: RolloutAction) => actionConsequence(a, plan, r);
  const active = ACTIVE.includes(r.status);
  return (
    <section aria-labelledby="actions-h" className="actions">
      <h2 id="actions-h" className="sr-only">
        Actions
      </h2>
      {active && r.status !== 'held' && (
        <ConfirmButton label="Advance" title="Advance now?" consequence={what('advance')} reason="optional" onConfirm={(comment) => run('advance', comment ? { comment } : {})} />
      )}
      {active && r.status !== 'held' && <ConfirmButton label="Hold" title="Hold this rollout?" consequence={what('hold')} reason="required" onConfirm={(reason) => run('hold', { reason })} />}
      {r.status === 'held' && <ConfirmButton label="Resume" title="Resume this rollout?" consequence={what('resume')} reason="optional" onConfirm={(comment) => run('resume', comment ? { comment } : {})} />}
      {active && r.stageIndex > 0 && (
        <ConfirmButton label="Roll back one stage" title="Roll back to the previous stage?" consequence={what('rollback-previous')} danger reason="optional" onConfirm={(reason) => run('rollback', { to: 'previous', ...(reason ? { reason } : {}) })} />
      )}
      {active && (
        <ConfirmButton label="Roll back to 0%" title="Roll back to 0%?" consequence={what('rollback-zero')} danger reason="optional" confirmLabel="Roll back" onConfirm={(reason) => run('rollback', { to: 'zero', ...(reason ? { reason } : {}) })} />
      )}
      {active && <ConfirmButton label="Fully disable" title="Turn the flag off for everyone?" consequence={what('disable')} danger reason="optional" confirmLabel="Disable" onConfirm={(comment) => run('disable', comment ? { comment } : {})} />}
      {r.status === 'rolled_back' && <ConfirmButton label="Restart" title="Restart from stage 1?" consequence={what('restart')} reason="optional" onConfirm={(comment) => run('restart', comment ? { comment } : {})} />}
    </section>
  );
}

function StageTimelineView({ plan, r, decisions, now }: { plan: Plan; r: RolloutDetail; decisions: RolloutDecision[]; now: number }) {
  const stages = stageTimeline(plan, r, decisions);
  return (
    <section aria-labelledby="timeline-h">
      <h2 id="timeline-h">Stages</h2>
      <ol className="timeline">
        {stages.map((st) => (
          <li key={st.id} className={`stage stage-${st.when}`} aria-current={st.when === 'current' ? 'step' : undefined}>
            <span className="stage-n">{st.index + 1}</span>
            <div>
              <strong>{st.name}</strong> <span className="muted">({st.when})</span>
              <div>{st.audience}</div>
              <div className="muted">
                planned at least {formatDuration(st.plannedMs)}
                {st.enteredAt !== undefined && ` · began ${formatTime(st.enteredAt)}`}
                {st.enteredAt !== undefined && st.leftAt !== undefined && ` · lasted ${formatDuration(st.leftAt - st.enteredAt)}`}
                {st.when === 'current' && st.enteredAt !== undefined && ` · running for ${formatDuration(now - st.enteredAt)}`}
              </div>
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}

function DailyMetrics({ series }: { series: MetricSeries }) {
  const days = daysWithData(series);
  const [chosen, setDay] = useState<string | undefined>();
  const day = chosen ?? days[days.length - 1];
  if (day === undefined) return null;
  return (
    <section aria-labelledby="daily-h">
      <h2 id="daily-h">Daily metrics</h2>
      <label className="field inline">
        <span>Day</span>
        <select value={day} onChange={(e) => setDay(e.target.value)}>
          {days.map((d) => (
            <option key={d}>{d}</option>
          ))}
        </select>
      </label>
      {dailyMetrics(series, day).map((g) => (
        <div className="table-wrap" key={g.group}>
          <table>
            <caption>{g.group}</caption>
            <thead>
              <tr>
                <th scope="col">Metric</th>
                <th scope="col">Target</th>
                <th scope="col">Actual</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {g.rows.map((row) => (
                <tr key={row.metric}>
                  <td data-label="Metric">{row.name}</td>
                  <td data-label="Target">{row.target}</td>
                  <td data-label="Actual">{row.actual}</td>
                  <td data-label="Status" className={`st st-${row.status.replace(' ', '-')}`}>
                    {row.status === 'met' ? '✓ met' : row.status === 'missed' ? '✗ missed' : row.status}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}

function Checklist({ r, plan, base }: { r: RolloutDetail; plan: Plan; base: string }) {
  const { can, session } = useSession();
  const action = useRolloutAction(base, r.id);
  const state = r.state as { stageStartedAt: number; startedBy?: string; checklist?: { itemId: string; by: string; at: number }[]; approvals?: { by: string; role: string; at: number; verdict: string; comment?: string }[]; escalations?: { gateIds: string[]; raisedAt: number; decision?: unknown }[] };
  const draft = r.status === 'draft';
  const items = draft ? (plan.preStartChecklist ?? []) : (plan.stages[r.stageIndex]?.checklist ?? []);
  const ticks = (state.checklist ?? []).filter((t) => draft || t.at >= state.stageStartedAt);
  const approvals = (state.approvals ?? []).filter((a) => a.at >= state.stageStartedAt);
  const need = plan.stages[r.stageIndex]?.approvals;
  const selfStarted = session?.user.id === r.startedBy;
  const pending = (state.escalations ?? []).filter((e) => e.decision === undefined && e.raisedAt >= state.stageStartedAt);
  const canAct = ACTIVE.includes(r.status) || draft;
  return (
    <section aria-labelledby="checklist-h">
      <h2 id="checklist-h">{draft ? 'Pre-start checklist' : 'Go/no-go checklist and approvals'}</h2>
      {items.length === 0 ? (
        <p>No checklist for this stage.</p>
      ) : (
        <ul className="checklist">
          {items.map((item) => {
            const tick = ticks.find((t) => t.itemId === item.id);
            return (
              <li key={item.id}>
                <span aria-hidden="true">{tick ? '☑' : '☐'}</span> {item.text}
                {item.required === false && <span className="muted"> (optional)</span>}
                {tick ? (
                  <span className="muted"> · ticked {formatTime(tick.at)}</span>
                ) : (
                  canAct &&
                  can('editor') && (
                    <button type="button" className="btn btn-small" onClick={() => action.mutate({ path: `checklist/${encodeURIComponent(item.id)}`, body: {} })}>
                      Tick<span className="sr-only"> {item.text}</span>
                    </button>
                  )
                )}
              </li>
            );
          })}
        </ul>
      )}
      {need !== undefined && !draft && (
        <div className="approvals">
          <h3>
            Approvals: {approvals.filter((a) => a.verdict === 'approve').length} of {need.count} ({need.role} or higher)
          </h3>
          <ul className="plain">
            {approvals.map((a, i) => (
              <li key={i}>
                {a.verdict === 'approve' ? '✓ Approved' : '✗ Rejected'} by {a.by} ({a.role}) {formatTime(a.at)}
                {a.comment ? `: “${a.comment}”` : ''}
              </li>
            ))}
          </ul>
          {canAct &&
            can('approver') &&
            (selfStarted ? (
              <p className="notice" role="note">
                You started this rollout, so you cannot approve it: another {need.role} must.
              </p>
            ) : (
              <div className="actions">
                <ConfirmButton label="Approve" title="Approve advancing?" consequence={`Counts toward the ${need.count} approval(s) this stage needs before it advances.`} reason="optional" onConfirm={(comment) => action.mutateAsync({ path: 'approve', body: { comment } })} />
                <ConfirmButton label="Reject" title="Reject advancing?" consequence="The stage cannot advance until you approve it again." reason="required" danger onConfirm={(comment) => action.mutateAsync({ path: 'reject', body: { comment } })} />
              </div>
            ))}
        </div>
      )}
      {pending.length > 0 && can('approver') && (
        <div className="escalation" role="alert">
          <h3>Go/no-go needed: {pending.flatMap((e) => e.gateIds).join(', ')}</h3>
          <div className="actions">
            <ConfirmButton label="Go" title="Go: continue the stage?" consequence="The stage continues as planned; the alert stays in the decision log." reason="optional" onConfirm={(comment) => action.mutateAsync({ path: 'go', body: { comment } })} />
            <ConfirmButton label="No-go" title="No-go: roll back to 0%?" consequence={actionConsequence('rollback-zero', plan, r)} reason="required" danger onConfirm={(comment) => action.mutateAsync({ path: 'no-go', body: { comment } })} />
          </div>
        </div>
      )}
    </section>
  );
}

function Experiment({ base, id }: { base: string; id: string }) {
  const query = useQuery({ queryKey: ['rollout', id, 'experiment'], queryFn: () => api<RolloutExperiment>('GET', `${base}/experiment`) });
  return (
    <section aria-labelledby="experiment-h">
      <h2 id="experiment-h">Experiment</h2>
      <QueryState query={query}>
        {(e) => (
          <>
            {e.srm?.mismatch && (
              <p className="error" role="alert">
                Sample ratio mismatch (p = {e.srm.pValue.toPrecision(2)}): the groups' sizes do not match their weights; the results are not trustworthy.
              </p>
            )}
            <div className="table-wrap">
              <table>
                <caption>Each group against {e.control}</caption>
                <thead>
                  <tr>
                    <th scope="col">Metric</th>
                    <th scope="col">Group</th>
                    <th scope="col">Difference</th>
                    <th scope="col">Interval</th>
                    <th scope="col">Verdict</th>
                  </tr>
                </thead>
                <tbody>
                  {e.metrics.flatMap((m) =>
                    m.groups.map((g) => (
                      <tr key={`${m.metric}-${g.variation}`}>
                        <td data-label="Metric">{m.metric}</td>
                        <td data-label="Group">{g.name ?? g.variation}</td>
                        <td data-label="Difference">{g.difference?.toPrecision(3) ?? '–'}</td>
                        <td data-label="Interval">{g.interval ? `${g.interval.lower.toPrecision(3)} to ${g.interval.upper.toPrecision(3)}` : '–'}</td>
                        <td data-label="Verdict" title={g.summary}>
                          {g.verdict.replace('_', ' ')}
                        </td>
                      </tr>
                    )),
                  )}
                </tbody>
              </table>
            </div>
          </>
        )}
      </QueryState>
    </section>
  );
}

function RollbackHistory({ rollbacks }: { rollbacks: RolloutRollback[] }) {
  return (
    <section aria-labelledby="rollbacks-h">
      <h2 id="rollbacks-h">Rollback history</h2>
      {rollbacks.length === 0 ? (
        <p>No rollbacks.</p>
      ) : (
        <ol className="log">
          {rollbacks.map((b) => (
            <li key={b.id} className="rollback-entry">
              <strong>{formatTime(b.at)}</strong>: {b.kind === 'disable' ? 'full disable' : 'rolled back'} from {b.fromPercentage ?? '?'}% to {b.toPercentage ?? 0}% by {b.actor.kind === 'system' ? 'the controller' : b.actor.id}
              <div>Trigger: {b.trigger}</div>
              <div className="muted">{b.reason}</div>
              {b.metrics.some((m) => !b.reason.includes(m.summary)) && (
                <ul className="plain">
                  {b.metrics.map((m, i) => (
                    <li key={i}>{m.summary}</li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function DecisionLog({ decisions }: { decisions: RolloutDecision[] }) {
  return (
    <section aria-labelledby="log-h">
      <h2 id="log-h">Decision log</h2>
      {decisions.length === 0 ? (
        <p>No decisions yet.</p>
      ) : (
        <ol className="log">
          {decisions.map((d) => (
            <li key={d.id}>
              <strong>{formatTime(d.at)}</strong> · <span className={`kind kind-${d.kind}`}>{d.kind.replace(/_/g, ' ')}</span> by {d.actor.kind === 'system' ? 'the controller' : d.actor.id}
              {d.fromPercentage !== null && d.toPercentage !== null && d.fromPercentage !== d.toPercentage && ` · ${d.fromPercentage}% → ${d.toPercentage}%`}
              <div>{d.reason}</div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
