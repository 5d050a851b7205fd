import { useMemo, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { OPERATORS, type Condition, type Rule } from '@rollgate/core';
import { api, ApiRequestError, seg } from '../../api/client.js';
import { useSession } from '../../api/session.js';
import type { Environment, Flag, FlagEnvironmentConfig, Page, Segment } from '../../api/types.js';
import { QueryState } from '../../components/QueryState.js';
import { KillSwitch } from './FlagsPage.js';
import { environmentSnapshot, explain, parseContext, whatDoesItGet } from './playground.js';

/** A served outcome in words. */
function serveText(serve: FlagEnvironmentConfig['fallthrough']): string {
  if ('variation' in serve) return `serve ${serve.variation}`;
  const r = serve.rollout;
  if (r.variants !== undefined) return `${r.percentage}% split ${r.variants.map((v) => `${v.variation} ${v.weight / 1000}%`).join(' / ')}`;
  return `${r.percentage}% get ${r.variation ?? '?'}${r.otherwise ? `, the rest ${r.otherwise}` : ''}`;
}

/** A flag: each environment's targeting, a rule editor and "what does this context get, and why". */
export function FlagPage() {
  const { projectKey = '', flagKey = '' } = useParams();
  const base = `/api/projects/${seg(projectKey)}`;
  const flag = useQuery({ queryKey: ['flag', projectKey, flagKey], queryFn: () => api<Flag>('GET', `${base}/flags/${seg(flagKey)}`) });
  const flags = useQuery({ queryKey: ['flags', projectKey], queryFn: () => api<Page<Flag>>('GET', `${base}/flags?limit=200`) });
  const segments = useQuery({ queryKey: ['segments', projectKey], queryFn: () => api<Page<Segment>>('GET', `${base}/segments?limit=200`) });
  const envs = useQuery({ queryKey: ['environments', projectKey], queryFn: () => api<Page<Environment>>('GET', `${base}/environments?limit=100`) });
  const [envKey, setEnvKey] = useState<string | undefined>();
  return (
    <QueryState query={flag}>
      {(f) => {
        const environments = envs.data?.items ?? [];
        const env = environments.find((e) => e.key === envKey) ?? environments[environments.length - 1];
        const fe = env === undefined ? undefined : f.environments[env.key];
        return (
          <>
            <p className="crumbs">
              <Link to="/flags">Flags</Link> / {projectKey}
            </p>
            <h1>{f.key}</h1>
            <p>
              {f.name} · {f.type} · variations: {f.variations.map((v) => v.key).join(', ')}
            </p>
            <label className="field inline">
              <span>Environment</span>
              <select value={env?.key ?? ''} onChange={(e) => setEnvKey(e.target.value)}>
                {environments.map((e) => (
                  <option key={e.key} value={e.key}>
                    {e.name}
                  </option>
                ))}
              </select>
            </label>
            {env !== undefined && fe !== undefined && (
              <>
                <p>
                  Kill switch: <KillSwitch flag={f} environment={env} />
                </p>
                <Targeting flag={f} env={env} config={fe.config} version={fe.version} base={base} />
                <Playground flag={f} env={env} flags={flags.data?.items ?? [f]} segments={segments.data?.items ?? []} />
              </>
            )}
          </>
        );
      }}
    </QueryState>
  );
}

function Targeting({ flag, env, config, version, base }: { flag: Flag; env: Environment; config: FlagEnvironmentConfig; version: number; base: string }) {
  const { can } = useSession();
  const client = useQueryClient();
  const [attribute, setAttribute] = useState('');
  const [operator, setOperator] = useState<string>('in');
  const [values, setValues] = useState('');
  const [variation, setVariation] = useState(flag.variations[0]?.key ?? '');
  const save = useMutation({
    mutationFn: (next: FlagEnvironmentConfig) => api('PUT', `${base}/flags/${seg(flag.key)}/environments/${seg(env.key)}`, { version, config: next }),
    onSuccess: () => {
      setAttribute('');
      setValues('');
      return Promise.all([client.invalidateQueries({ queryKey: ['flag'] }), client.invalidateQueries({ queryKey: ['flags'] })]);
    },
  });
  const rules = config.rules ?? [];
  const index = rules.length;
  const issues = save.error instanceof ApiRequestError ? save.error.fieldMessages() : new Map<string, string>();
  const at = (field: string) => issues.get(`config.rules[${index}].conditions[0].${field}`) ?? issues.get(`rules[${index}].conditions[0].${field}`);
  const rest = [...issues.entries()].filter(([path]) => !/conditions\[0\]\.(attribute|operator|values)$/.test(path));
  const add = () => {
    const rule: Rule = {
      id: `rule-${Date.now().toString(36)}`,
      conditions: [{ attribute, operator: operator as Condition['operator'], values: values.split(',').map((v) => v.trim()).filter((v) => v !== '') }],
      serve: { variation },
    };
    save.mutate({ ...config, rules: [...rules, rule] as FlagEnvironmentConfig['rules'] });
  };
  return (
    <section aria-labelledby="targeting-h">
      <h2 id="targeting-h">Targeting in {env.name}</h2>
      {(config.targets ?? []).length > 0 && (
        <ul className="plain">
          {(config.targets ?? []).map((t, i) => (
            <li key={i}>
              Individually: {t.values.join(', ')} → {t.variation}
            </li>
          ))}
        </ul>
      )}
      <ol className="rules">
        {rules.map((r) => (
          <li key={r.id} id={`rule-${r.id}`}>
            <strong>{r.id}</strong>: if {(r.conditions ?? []).map((c) => `${c.attribute} ${c.negate ? 'not ' : ''}${c.operator} ${c.values.join(', ')}`).join(' and ') || 'always'}
            {(r.segments ?? []).length > 0 && ` and in ${(r.segments ?? []).join(', ')}`} → {serveText(r.serve)}
          </li>
        ))}
        <li>Otherwise → {serveText(config.fallthrough)}</li>
      </ol>
      {can('editor') && (
        <form
          className="rule-form"
          aria-label="Add a rule"
          onSubmit={(e) => {
            e.preventDefault();
            add();
          }}
        >
          <h3>Add a rule</h3>
          <label className="field">
            <span>Attribute</span>
            <input value={attribute} onChange={(e) => setAttribute(e.target.value)} aria-invalid={at('attribute') !== undefined} aria-describedby="rule-attribute-error" />
            {at('attribute') !== undefined && (
              <span id="rule-attribute-error" className="error">
                {at('attribute')}
              </span>
            )}
          </label>
          <label className="field">
            <span>Operator</span>
            <select value={operator} onChange={(e) => setOperator(e.target.value)}>
              {OPERATORS.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Values (comma-separated)</span>
            <input value={values} onChange={(e) => setValues(e.target.value)} aria-invalid={at('values') !== undefined} aria-describedby="rule-values-error" />
            {at('values') !== undefined && (
              <span id="rule-values-error" className="error">
                {at('values')}
              </span>
            )}
          </label>
          <label className="field">
            <span>Serve</span>
            <select value={variation} onChange={(e) => setVariation(e.target.value)}>
              {flag.variations.map((v) => (
                <option key={v.key}>{v.key}</option>
              ))}
            </select>
          </label>
          <button type="submit" className="btn btn-primary">
            Add rule
          </button>
          {save.error !== null && (
            <div className="error" role="alert">
              {save.error.message}
              {rest.length > 0 && (
                <ul>
                  {rest.map(([path, message]) => (
                    <li key={path}>
                      {path}: {message}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </form>
      )}
    </section>
  );
}

function Playground({ flag, env, flags, segments }: { flag: Flag; env: Environment; flags: Flag[]; segments: Segment[] }) {
  const [text, setText] = useState('{"userId": "user-42"}');
  const snapshot = useMemo(() => environmentSnapshot(flags.some((f) => f.key === flag.key) ? flags.map((f) => (f.key === flag.key ? flag : f)) : [...flags, flag], segments, env.key), [flags, flag, segments, env.key]);
  const parsed = parseContext(text);
  const result = 'context' in parsed ? whatDoesItGet(snapshot, flag.key, parsed.context) : undefined;
  const config = snapshot.flags.find((f) => f.key === flag.key);
  return (
    <section aria-labelledby="playground-h">
      <h2 id="playground-h">What does this context get, and why?</h2>
      <label className="field">
        <span>Context (JSON)</span>
        <textarea rows={3} value={text} onChange={(e) => setText(e.target.value)} aria-describedby="playground-answer" className="mono" />
      </label>
      <div id="playground-answer" aria-live="polite" className="answer">
        {'error' in parsed ? (
          <p className="error">{parsed.error}</p>
        ) : (
          result !== undefined && (
            <>
              <p>
                Gets <strong data-testid="playground-variant">{result.variant ?? '(default)'}</strong> = <code>{JSON.stringify(result.value)}</code> · reason <code data-testid="playground-reason">{result.reason}</code>
              </p>
              <p>{explain(result, config)}</p>
            </>
          )
        )}
      </div>
    </section>
  );
}
