import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { Plan } from '@rollgate/core';
import { api, seg } from '../../api/client.js';
import type { Page, PlanSummary, PlanTemplate, PlanView } from '../../api/types.js';
import { ProjectPicker, useProjectKey } from '../../components/ProjectPicker.js';
import { QueryState } from '../../components/QueryState.js';
import { formatDuration } from '../../components/format.js';
import { audienceText } from '../rollouts/rollout-model.js';


/** A plan drawn the way seed 001 draws it: stages, audience, duration, goal, gates by role. */
export function PlanStages({ plan }: { plan: Plan }) {
  return (
    <div className="table-wrap">
      <table>
        <caption>{plan.name}</caption>
        <thead>
          <tr>
            <th scope="col">Stage</th>
            <th scope="col">Audience</th>
            <th scope="col">Duration</th>
            <th scope="col">Success criteria</th>
            <th scope="col">Alerts</th>
            <th scope="col">Rollback triggers</th>
          </tr>
        </thead>
        <tbody>
          {plan.stages.map((s) => {
            const by = (role: string) => (s.gates ?? []).filter((g) => g.role === role).map((g) => g.description ?? `${g.metric} ${g.condition.op} ${g.condition.value}`);
            return (
              <tr key={s.id}>
                <td data-label="Stage">{s.name}</td>
                <td data-label="Audience">{audienceText(s)}</td>
                <td data-label="Duration">
                  {formatDuration(s.minDuration)}
                  {s.maxDuration !== undefined ? ` to ${formatDuration(s.maxDuration)}` : '+'}
                </td>
                <td data-label="Success criteria">{by('success').join('; ') || '–'}</td>
                <td data-label="Alerts">{by('alert').join('; ') || '–'}</td>
                <td data-label="Rollback triggers">{by('rollback').join('; ') || '–'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Plans of a project and the built-in seed templates to start from. */
export function PlansPage() {
  const [chosen, setChosen] = useState<string | undefined>();
  const projectKey = useProjectKey(chosen);
  const plans = useQuery({ queryKey: ['plans', projectKey], enabled: projectKey !== undefined, queryFn: () => api<Page<PlanSummary>>('GET', `/api/projects/${seg(projectKey ?? '')}/plans?limit=100`) });
  const templates = useQuery({ queryKey: ['plan-templates', projectKey], enabled: projectKey !== undefined, queryFn: () => api<{ items: PlanTemplate[] }>('GET', `/api/projects/${seg(projectKey ?? '')}/plan-templates`) });
  const [open, setOpen] = useState<string | undefined>();
  const plan = useQuery({ queryKey: ['plan', projectKey, open], enabled: open !== undefined, queryFn: () => api<PlanView>('GET', `/api/projects/${seg(projectKey ?? '')}/plans/${seg(open ?? '')}`) });
  return (
    <>
      <h1>Plans</h1>
      <ProjectPicker value={projectKey} onChange={setChosen} />
      <QueryState query={plans}>
        {(page) => (
          <ul className="plain cards">
            {page.items.length === 0 && <li>No plans yet: start from a template below.</li>}
            {page.items.map((p) => (
              <li key={p.key}>
                <button type="button" className="link" aria-expanded={open === p.key} onClick={() => setOpen(open === p.key ? undefined : p.key)}>
                  {p.name}
                </button>{' '}
                <span className="muted">
                  {p.key} v{p.version}
                </span>
                {open === p.key && plan.data !== undefined && <PlanStages plan={{ ...plan.data.definition, name: plan.data.name } as unknown as Plan} />}
              </li>
            ))}
          </ul>
        )}
      </QueryState>
      <h2>Templates from the seed documents</h2>
      <QueryState query={templates}>
        {(page) => (
          <>
            {page.items.map((t) => (
              <details key={t.key}>
                <summary>
                  {t.name}
                  {t.seed !== null && <span className="muted"> (seed {t.seed})</span>}
                </summary>
                <p className="muted">{t.description}</p>
                {(t.missing.segments.length > 0 || t.missing.environments.length > 0) && (
                  <p className="notice">This project still needs: {[...t.missing.segments.map((s) => `segment ${s}`), ...t.missing.environments.map((e) => `environment ${e}`)].join(', ')}</p>
                )}
                <PlanStages plan={{ ...t.definition, name: t.name } as unknown as Plan} />
              </details>
            ))}
          </>
        )}
      </QueryState>
    </>
  );
}
