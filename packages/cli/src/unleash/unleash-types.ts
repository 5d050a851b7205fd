/**
 * The parts of Unleash's export formats that the import reads: the client API
 * (`GET /api/client/features`) and the admin API's feature export
 * (`POST /api/admin/features-batch/export`, and the older state export).
 */

export interface UnleashConstraint {
  contextName: string;
  operator: string;
  values?: string[];
  value?: string;
  inverted?: boolean;
  caseInsensitive?: boolean;
}

export interface UnleashOverride {
  contextName: string;
  values: string[];
}

export interface UnleashVariant {
  name: string;
  weight: number;
  weightType?: string;
  stickiness?: string;
  payload?: { type: string; value: string };
  overrides?: UnleashOverride[];
}

export interface UnleashStrategy {
  name: string;
  id?: string;
  title?: string;
  featureName?: string;
  environment?: string;
  sortOrder?: number;
  disabled?: boolean;
  parameters?: Record<string, string | undefined>;
  constraints?: UnleashConstraint[];
  segments?: number[];
  variants?: UnleashVariant[];
}

export interface UnleashDependency {
  feature: string;
  enabled?: boolean;
  variants?: string[];
}

export interface UnleashClientFeature {
  name: string;
  description?: string;
  type?: string;
  enabled: boolean;
  stale?: boolean;
  impressionData?: boolean;
  strategies?: UnleashStrategy[];
  variants?: UnleashVariant[];
  dependencies?: UnleashDependency[];
}

export interface UnleashSegment {
  id: number;
  name?: string;
  description?: string;
  constraints?: UnleashConstraint[];
}

/** `GET /api/client/features`: one environment. */
export interface UnleashClientExport {
  version?: number;
  features: UnleashClientFeature[];
  segments?: UnleashSegment[];
}

/** The admin API's export: features, their strategies and environments in separate lists. */
export interface UnleashAdminExport {
  features: { name: string; description?: string; type?: string; stale?: boolean; impressionData?: boolean; variants?: UnleashVariant[] }[];
  featureStrategies?: UnleashStrategy[];
  featureEnvironments?: { featureName: string; environment: string; enabled: boolean; variants?: UnleashVariant[] }[];
  segments?: UnleashSegment[];
  dependencies?: { feature: string; dependencies: UnleashDependency[] }[];
  featureTags?: { featureName: string; tagType?: string; tagValue?: string; type?: string; value?: string }[];
}
