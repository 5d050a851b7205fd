import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client.js';
import type { Page, Project } from '../api/types.js';

export const projectsQuery = { queryKey: ['projects'], queryFn: () => api<Page<Project>>('GET', '/api/projects?limit=200') };

/** Which project a page shows; the first one until a person picks another. */
export function ProjectPicker({ value, onChange }: { value: string | undefined; onChange: (key: string) => void }) {
  const query = useQuery(projectsQuery);
  const projects = query.data?.items ?? [];
  const current = value ?? projects[0]?.key ?? '';
  return (
    <label className="field inline">
      <span>Project</span>
      <select value={current} onChange={(e) => onChange(e.target.value)}>
        {projects.map((p) => (
          <option key={p.key} value={p.key}>
            {p.name}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The chosen project, or the first one. */
export function useProjectKey(chosen: string | undefined): string | undefined {
  const query = useQuery(projectsQuery);
  return chosen ?? query.data?.items[0]?.key;
}
