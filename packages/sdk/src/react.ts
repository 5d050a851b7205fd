/**
 * @rollgate/sdk/react: React bindings for the browser client (React 18 or
 * later, an optional peer dependency). `RollgateProvider` puts a client in
 * context; `useFlag` and `useVariant` read it synchronously and re-render
 * when the answer changes (useSyncExternalStore). See docs/sdk.md, "React".
 */
import { createContext, createElement, useContext, useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { createBrowserClient, type BrowserClient, type BrowserClientOptions, type EvaluationContext, type JsonValue } from './browser.js';
import { contextKeyOf } from './internal/frontend-evaluation.js';

export interface RollgateProviderProps {
  /** A client you created (and close yourself); started when the provider mounts if it was created with `deferStart`. */
  client?: BrowserClient;
  /** Or the options of a client the provider creates once, starts when mounted and closes when unmounted. */
  options?: BrowserClientOptions;
  /** The context to evaluate for; when it changes (by value), the client evaluates again (`setContext`). */
  context?: EvaluationContext;
  children?: ReactNode;
}

const RollgateContext = createContext<BrowserClient | null>(null);

/**
 * Makes a browser client available to `useFlag`, `useVariant` and
 * `useRollgateClient` below it. Give it a `client`, or `options` to create
 * one; flags cached for the context render on the first render.
 *
 * @example
 * createRoot(el).render(
 *   createElement(RollgateProvider, { options: { url: 'https://rollgate.example.com', token: 'rg_browser_...' }, context: { userId: user.id } }, createElement(App)),
 * );
 */
export function RollgateProvider(props: RollgateProviderProps): ReactNode {
  // Created during the first render (so cached flags render at once) but started only
  // once mounted: a render React discards (StrictMode renders twice) opens no connection.
  const [owned] = useState(() =>
    props.client === undefined && props.options !== undefined ? createBrowserClient({ ...props.options, context: props.context ?? props.options.context, deferStart: true }) : undefined,
  );
  const client = props.client ?? owned;
  if (client === undefined) throw new TypeError('RollgateProvider needs a `client` or `options`');
  const mounts = useRef(0);
  useEffect(() => {
    // A client passed in created with `deferStart` starts here too (start() is idempotent).
    client.start();
    if (owned === undefined) return;
    mounts.current++;
    // StrictMode unmounts and mounts again at once: close only if it stays unmounted.
    return () => {
      mounts.current--;
      setTimeout(() => {
        if (mounts.current === 0) owned.close();
      }, 0);
    };
  }, [client, owned]);
  const context = props.context;
  // The context by value: a new object with the same attributes changes nothing.
  const key = context === undefined ? undefined : contextKeyOf(context);
  useEffect(() => {
    if (context !== undefined && key !== contextKeyOf(client.context)) client.setContext(context).catch(() => {});
  }, [client, key]);
  return createElement(RollgateContext.Provider, { value: client }, props.children);
}

/** The browser client of the nearest RollgateProvider. */
export function useRollgateClient(): BrowserClient {
  const client = useContext(RollgateContext);
  if (client === null) throw new Error('useRollgateClient (and useFlag, useVariant) must be used inside a RollgateProvider');
  return client;
}

/**
 * A flag's value for the provider's context, or `defaultValue` (whose type
 * must be the flag's) when it cannot be evaluated. Re-renders when it changes.
 *
 * @example
 * const newCheckout = useFlag('new-checkout', false);
 * const banner = useFlag('banner-text', 'Welcome');
 */
export function useFlag<T extends JsonValue>(flagKey: string, defaultValue: T): T {
  const client = useRollgateClient();
  const get = () => client.getValue(flagKey, defaultValue);
  return useSyncExternalStore(client.subscribe, get, get);
}

/** The key of the variation served for a flag, or undefined. Re-renders when it changes. */
export function useVariant(flagKey: string): string | undefined {
  const client = useRollgateClient();
  const get = () => client.variant(flagKey);
  return useSyncExternalStore(client.subscribe, get, get);
}
