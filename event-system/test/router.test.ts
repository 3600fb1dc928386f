/** Type-pattern routing: matching, order, memoisation, and the failure that names its handler. */
import { describe, expect, it } from 'vitest';
import { createEvent } from '@event-infra/shared';
import { HandlerFailure, Router } from '../src/core/router';
import { workspaceCreated } from './helpers';

const context = { entryId: '1-1', deliveries: 1 };

describe('router', () => {
  it('matches exact types, family wildcards and *, in registration order', () => {
    const router = new Router();
    const noop = async () => undefined;
    router.on('workspace.created', 'exact', noop).on('workspace.*', 'family', noop).on('*', 'all', noop).on('user.*', 'users', noop);
    expect(router.routesFor('workspace.created').map((route) => route.name)).toEqual(['exact', 'family', 'all']);
    expect(router.routesFor('workspace.deleted').map((route) => route.name)).toEqual(['family', 'all']);
    expect(router.routesFor('workspaces.created').map((route) => route.name)).toEqual(['all']);
    expect(router.describe()).toEqual([
      { name: 'exact', pattern: 'workspace.created' },
      { name: 'family', pattern: 'workspace.*' },
      { name: 'all', pattern: '*' },
      { name: 'users', pattern: 'user.*' },
    ]);
  });

  it('a route added after a look-up is seen by the next look-up (the memo is cleared)', () => {
    const router = new Router();
    expect(router.routesFor('user.created')).toHaveLength(0);
    router.on('user.created', 'late', async () => undefined);
    expect(router.routesFor('user.created').map((route) => route.name)).toEqual(['late']);
  });

  it('dispatch runs every matching handler in order and answers how many ran', async () => {
    const router = new Router();
    const calls: string[] = [];
    router.on('*', 'a', async () => void calls.push('a')).on('workspace.*', 'b', async (_event, ctx) => void calls.push(`b:${ctx.entryId}`));
    expect(await router.dispatch(createEvent(workspaceCreated(), 'test'), context)).toBe(2);
    expect(calls).toEqual(['a', 'b:1-1']);
    expect(await router.dispatch(createEvent({ type: 'user.created', data: { userId: 'u', email: 'a@example.com' } }, 'test'), context)).toBe(1);
  });

  it('the first failure stops the rest and names its handler', async () => {
    const router = new Router();
    const calls: string[] = [];
    router
      .on('*', 'first', async () => void calls.push('first'))
      .on('*', 'broken', async () => {
        throw Object.assign(new Error('boom'), { permanent: true, code: 'bad_thing', status: 422 });
      })
      .on('*', 'never', async () => void calls.push('never'));
    const failure = await router.dispatch(createEvent(workspaceCreated(), 'test'), context).catch((caught: unknown) => caught);
    expect(calls).toEqual(['first']);
    expect(failure).toBeInstanceOf(HandlerFailure);
    const err = failure as HandlerFailure;
    expect(err).toMatchObject({ name: 'HandlerFailure', handler: 'broken', message: 'handler broken failed: boom', permanent: true, code: 'bad_thing', status: 422 });
    expect((err.cause as Error).message).toBe('boom');
    expect(err.stack).toBe((err.cause as Error).stack);
  });

  it('HandlerFailure of a non-Error keeps its text and is transient unless marked permanent', () => {
    const err = new HandlerFailure('h', 'plain text');
    expect(err.message).toBe('handler h failed: plain text');
    expect(err.permanent).toBe(false);
    expect(err.code).toBeUndefined();
    expect(err.status).toBeUndefined();
    const odd = new HandlerFailure('h', Object.assign(new Error('x'), { permanent: 'yes', code: 7, status: '500' }));
    expect(odd.permanent).toBe(false);
    expect(odd.code).toBeUndefined();
    expect(odd.status).toBeUndefined();
  });
});
