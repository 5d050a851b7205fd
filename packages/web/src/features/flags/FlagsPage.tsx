import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, seg } from '../../api/client.js';
import { useSession } from '../../api/session.js';
import type { Environment, Flag, Page } from '../../api/types.js';
import { ConfirmButton } from '../../components/ConfirmButton.js';
import { ProjectPicker, useProjectKey } from '../../components/ProjectPicker.js';
import { QueryState } from '../../components/QueryState.js';

/** Flags of a project: search, and each environment's kill switch. */
export function FlagsPage() {
  const [chosen, setChosen] = useState<string | undefined>();
  const projectKey = useProjectKey(chosen);
  const [text, setText] = useState('');
  const flags = useQuery({ queryKey: ['flags', projectKey], enabled: projectKey !== undefined, queryFn: () => api<Page<Flag>>('GET', `/api/projects/${seg(projectKey ?? '')}/flags?limit=200`) });
  const envs = useQuery({ queryKey: ['environments', projectKey], enabled: projectKey !== undefined, queryFn: () => api<Page<Environment>>('GET', `/api/projects/${seg(projectKey ?? '')}/environments?limit=100`) });
  return (
    <>
      <h1>Flags</h1>
      <div className="filters">
        <ProjectPicker value={projectKey} onChange={setChosen} />
        <label className="field inline">
          <span>Search</span>
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="key, name or tag" />
        </label>
      </div>
      {projectKey !== undefined && <CreateFlag projectKey={projectKey} />}
      <QueryState query={flags}>
        {(page) => {
          const q = text.trim().toLowerCase();
          const shown = page.items.filter((f) => q === '' || `${f.key} ${f.name} ${f.tags.join(' ')}`.toLowerCase().includes(q));
          const environments = envs.data?.items ?? [];
          return (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Flags and their kill switch per environment</caption>
                <thead>
                  <tr>
                    <th scope="col">Flag</th>
                    <th scope="col">Type</th>
                    {environments.map((e) => (
                      <th scope="col" key={e.key}>
                        {e.name}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {shown.length === 0 ? (
                    <tr>
                      <td colSpan={2 + environments.length}>No flags match.</td>
                    </tr>
                  ) : (
                    shown.map((f) => (
                      <tr key={f.key}>
                        <td data-label="Flag">
                          <Link to={`/flags/${f.projectKey}/${f.key}`}>{f.key}</Link>
                          <div className="muted">{f.name}</div>
                        </td>
                        <td data-label="Type">{f.type}</td>
                        {environments.map((e) => (
                          <td key={e.key} data-label={e.name}>
                            <KillSwitch flag={f} environment={e} />
                          </td>
                        ))}
                      </tr>
                    ))
                  )}
                </tbody>
              </table>
            </div>
          );
        }}
      </QueryState>
    </>
  );
}

/** One environment's on/off, with a confirmation that says who is affected. */
export function KillSwitch({ flag, environment }: { flag: Flag; environment: Environment }) {
  const { can } = useSession();
  const client = useQueryClient();
  const fe = flag.environments[environment.key];
  const toggle = useMutation({
    mutationFn: (comment: string) =>
      api('PUT', `/api/projects/${seg(flag.projectKey)}/flags/${seg(flag.key)}/environments/${seg(environment.key)}`, {
        version: fe?.version,
        config: { ...fe?.config, enabled: !fe?.config.enabled },
        ...(comment ? { comment } : {}),
      }),
    onSuccess: () => Promise.all([client.invalidateQueries({ queryKey: ['flags'] }), client.invalidateQueries({ queryKey: ['flag'] })]),
  });
  if (fe === undefined) return <span className="muted">–</span>;
  const on = fe.config.enabled;
  const word = <span className={on ? 'on' : 'off'}>{on ? 'On' : 'Off'}</span>;
  if (!can('editor')) return word;
  return (
    <span className="switch">
      {word}{' '}
      <ConfirmButton
        label={on ? 'Turn off' : 'Turn on'}
        title={`Turn ${flag.key} ${on ? 'off' : 'on'} in ${environment.name}?`}
        consequence={
          on
            ? `Every user in ${environment.name} gets the off variation (${fe.config.offVariation}) of ${flag.key} at once, whatever its rules say.${environment.requiresApproval ? ' This environment needs approval: a change request is made instead.' : ''}`
            : `${flag.key}'s rules apply again in ${environment.name}: users get what its targeting serves them.${environment.requiresApproval ? ' This environment needs approval: a change request is made instead.' : ''}`
        }
        danger={on}
        reason="optional"
        onConfirm={(comment) => toggle.mutateAsync(comment)}
      />
    </span>
  );
}

function CreateFlag({ projectKey }: { projectKey: string }) {
  const { can } = useSession();
  const client = useQueryClient();
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () => api('POST', `/api/projects/${seg(projectKey)}/flags`, { key, name: name || key }),
    onSuccess: () => {
      setKey('');
      setName('');
      return client.invalidateQueries({ queryKey: ['flags'] });
    },
  });
  if (!can('editor')) return null;
  const issues = create.error !== null && 'fieldMessages' in create.error ? (create.error as { fieldMessages(): Map<string, string> }).fieldMessages() : new Map<string, string>();
  return (
    <form
      className="inline-form"
      aria-label="New flag"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <label className="field inline">
        <span>New flag key</span>
        <input value={key} onChange={(e) => setKey(e.target.value)} aria-invalid={issues.has('key')} aria-describedby="new-flag-key-error" />
      </label>
      <label className="field inline">
        <span>Name</span>
        <input value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <button type="submit" className="btn btn-primary" disabled={key === ''}>
        Create flag
      </button>
      {create.error !== null && (
        <p id="new-flag-key-error" className="error" role="alert">
          {issues.get('key') ?? create.error.message}
        </p>
      )}
    </form>
  );
}
