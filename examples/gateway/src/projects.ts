/**
 * Projects: every API key belongs to one, and everything a request creates (its channel and
 * tokens, its request log, its webhooks and their dead letters) belongs to the project of the key
 * that created it. Another project's keys are answered as if those things did not exist.
 */
import type { GatewayConfig } from './config.js';

/** A project as the gateway uses it. */
export interface Project {
  /** UUID: in topics (`ai_response:{id}:{channel_id}`) and answered as `project_id`. */
  readonly id: string;
  readonly name: string;
  readonly apiKeys: readonly string[];
  /** Signs this project's webhooks. */
  readonly webhookSecret: string;
}

/** The projects of a configuration, looked up by API key. */
export interface ProjectDirectory {
  /** The default project (`projectId`, `apiKey`, `additionalApiKeys`). */
  readonly defaultProject: Project;
  /** Every project, the default one first. */
  readonly all: readonly Project[];
  /** Every API key of every project. */
  readonly apiKeys: readonly string[];
  /** The project an (already authenticated) key belongs to. */
  byKey(apiKey: string): Project | undefined;
}

/**
 * Builds the project directory of a validated configuration: the default project from the plain
 * settings (so a config with only `apiKey` keeps working), then `projects`.
 *
 * @example
 * ```ts
 * const projects = projectDirectory(resolveConfig({ projects: [{ id: teamB, apiKeys: ['mr_test_team_b'] }] }));
 * projects.byKey('mr_test_team_b')?.id; // teamB
 * ```
 */
export function projectDirectory(config: GatewayConfig): ProjectDirectory {
  const defaultProject: Project = Object.freeze({
    id: config.projectId,
    name: 'default',
    apiKeys: Object.freeze([config.apiKey, ...config.additionalApiKeys]),
    webhookSecret: config.webhookSecret,
  });
  const all: Project[] = [
    defaultProject,
    ...config.projects.map((p) =>
      Object.freeze({
        id: p.id,
        name: p.name ?? p.id,
        apiKeys: Object.freeze([...p.apiKeys]),
        webhookSecret: p.webhookSecret ?? config.webhookSecret,
      }),
    ),
  ];
  const byKey = new Map<string, Project>();
  for (const project of all) for (const key of project.apiKeys) byKey.set(key, project);
  return {
    defaultProject,
    all: Object.freeze(all),
    apiKeys: Object.freeze([...byKey.keys()]),
    byKey: (apiKey) => byKey.get(apiKey),
  };
}
