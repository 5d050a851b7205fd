import { createContext, useContext, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiRequestError, setCsrfToken } from './client.js';
import type { Role, Session } from './types.js';

const RANK: Record<Role, number> = { viewer: 0, editor: 1, approver: 2, admin: 3 };

/** Whether `role` has the rights of `required` (viewer < editor < approver < admin), as the server checks. */
export function roleAtLeast(role: Role | undefined, required: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[required];
}

interface SessionValue {
  session: Session | undefined;
  loading: boolean;
  /** Whether the signed-in person may do what needs `role`: buttons that would be refused are not shown. */
  can: (role: Role) => boolean;
  signIn: (token: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<SessionValue | undefined>(undefined);

export const SESSION_KEY = ['session'] as const;

export function SessionProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const query = useQuery({
    queryKey: SESSION_KEY,
    queryFn: async () => {
      try {
        const s = await api<Session>('GET', '/api/session');
        setCsrfToken(s.csrfToken);
        return s;
      } catch (error) {
        if (error instanceof ApiRequestError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
    retry: false,
  });
  const session = query.data ?? undefined;
  const value: SessionValue = {
    session,
    loading: query.isPending,
    can: (role) => roleAtLeast(session?.role, role),
    async signIn(token) {
      const s = await api<Session>('POST', '/api/session', { token });
      setCsrfToken(s.csrfToken);
      client.setQueryData(SESSION_KEY, s);
    },
    async signOut() {
      await api('DELETE', '/api/session');
      setCsrfToken(undefined);
      client.setQueryData(SESSION_KEY, null);
      client.removeQueries({ predicate: (q) => q.queryKey[0] !== SESSION_KEY[0] });
    },
  };
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (value === undefined) throw new Error('useSession needs a SessionProvider');
  return value;
}
