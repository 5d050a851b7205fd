import { useEffect, useState } from 'react';
import type { QueryClient } from '@tanstack/react-query';
import type { DashboardEvent } from './types.js';

/** The query keys a change touches: pages refetch what they show of it. */
export function keysTouchedBy(event: DashboardEvent): readonly (readonly string[])[] {
  const keys: string[][] = [['overview'], ['audit']];
  if (event.resourceType === 'rollout') {
    keys.push(['rollout', event.resourceId], ['rollouts']);
  } else if (event.resourceType === 'flag' || event.resourceType === 'flag_environment' || event.resourceType === 'change_request') {
    keys.push(['flags'], ['flag'], ['rollout']);
  } else if (event.resourceType === 'segment') {
    keys.push(['segments'], ['flag']);
  } else if (event.resourceType === 'plan') {
    keys.push(['plans'], ['plan']);
  } else {
    keys.push([event.resourceType]);
  }
  return keys;
}

export type LiveState = 'connecting' | 'live' | 'offline';

/**
 * Keeps the query cache current from the dashboard stream: each change
 * invalidates the queries it touches. EventSource reconnects by itself
 * (sending Last-Event-ID); `state` says when the page is offline.
 */
export function useLiveUpdates(client: QueryClient, enabled: boolean): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  useEffect(() => {
    if (!enabled) return undefined;
    const source = new EventSource('/api/dashboard/stream');
    source.addEventListener('ready', () => setState('live'));
    source.addEventListener('open', () => setState('live'));
    source.addEventListener('error', () => setState(source.readyState === EventSource.CLOSED ? 'offline' : 'connecting'));
    source.addEventListener('change', (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as DashboardEvent;
      for (const queryKey of keysTouchedBy(event)) void client.invalidateQueries({ queryKey });
    });
    const offline = () => setState('offline');
    window.addEventListener('offline', offline);
    return () => {
      window.removeEventListener('offline', offline);
      source.close();
    };
  }, [client, enabled]);
  return state;
}
