import { compileTypePattern, type EventEnvelope } from '@event-infra/shared';

/** Context a handler receives besides the event. */
export interface HandlerContext {
  /** Stream entry id of this delivery. */
  entryId: string;
  /** How many times this entry has been delivered (1 on the first read). */
  deliveries: number;
  /**
   * W3C `traceparent` of the span handling this delivery (tracing on): what the handler causes
   * (a trigger's job) carries it. Absent: the event's own `traceparent` applies.
   */
  traceparent?: string | undefined;
  /**
   * Set only when the delivery is a replay (`POST /replay`), never from the entry's fields: the
   * replay task's id. Duplicate suppression does not apply to replays; handlers with side
   * effects decide themselves whether to repeat them.
   */
  replay?: { taskId: string };
}

/** An event handler: resolves when done; a rejection leaves the entry pending for redelivery. */
export type EventHandler = (event: EventEnvelope, context: HandlerContext) => Promise<void>;

interface Route {
  name: string;
  pattern: string;
  matches: (type: string) => boolean;
  handler: EventHandler;
}

/**
 * Type-pattern routing (`*`, `workspace.*`, exact types). An event runs every handler whose
 * pattern matches, in registration order; the first failure stops the rest and fails the event.
 */
export class Router {
  private readonly routes: Route[] = [];
  private readonly cache = new Map<string, Route[]>();

  /** Subscribes `handler` (named for logs and DLQ entries) to events matching `pattern`. */
  on(pattern: string, name: string, handler: EventHandler): this {
    this.routes.push({ name, pattern, matches: compileTypePattern(pattern), handler });
    this.cache.clear();
    return this;
  }

  /** The routes whose pattern matches `type`, memoised per type. */
  routesFor(type: string): readonly { name: string; handler: EventHandler }[] {
    let routes = this.cache.get(type);
    if (routes === undefined) {
      routes = this.routes.filter((route) => route.matches(type));
      this.cache.set(type, routes);
    }
    return routes;
  }

  /** Handler names and patterns, for `/stats`. */
  describe(): { name: string; pattern: string }[] {
    return this.routes.map(({ name, pattern }) => ({ name, pattern }));
  }

  /** Runs the matching handlers in order; rejects with the first failure, tagged with the handler name. */
  async dispatch(event: EventEnvelope, context: HandlerContext): Promise<number> {
    const routes = this.routesFor(event.type);
    for (const route of routes) {
      try {
        await route.handler(event, context);
      } catch (caught) {
        throw new HandlerFailure(route.name, caught);
      }
    }
    return routes.length;
  }
}

/** A handler's failure, naming the handler; `cause` is the original error. */
export class HandlerFailure extends Error {
  readonly handler: string;
  readonly permanent: boolean;
  readonly code?: string;
  readonly status?: number;

  constructor(handler: string, cause: unknown) {
    const err = cause instanceof Error ? cause : new Error(String(cause));
    super(`handler ${handler} failed: ${err.message}`, { cause: err });
    this.name = 'HandlerFailure';
    this.handler = handler;
    this.stack = err.stack;
    const extra = err as { permanent?: unknown; code?: unknown; status?: unknown };
    this.permanent = extra.permanent === true;
    if (typeof extra.code === 'string') this.code = extra.code;
    if (typeof extra.status === 'number') this.status = extra.status;
  }
}
