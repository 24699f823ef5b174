/**
 * How the relay names storage trouble (docs/relay-api.md, "Relay error codes"): the driver's
 * and the OS's codes for a full disk become 507 `storage_full`; a database away, read-only or
 * failing becomes 503 `storage_unavailable`; anything else (a constraint, a bug) is not a
 * storage failure and keeps its old answer. The end-to-end tests meet these on real disks and a
 * real server; this table pins every code they may meet, including the ones they cannot stage.
 */
import { describe, expect, it } from 'vitest';
import { describeError, storageFailureCode } from '../../relay/src/errors.js';
import { storageError } from '../../relay/src/store/kysely-store.js';

const driverError = (code: string, message = 'driver error'): Error => Object.assign(new Error(message), { code });

describe('storage failures', () => {
  it.each([
    ['SQLITE_FULL', 'storage_full'],
    ['53100', 'storage_full'], // PostgreSQL disk_full
    ['ENOSPC', 'storage_full'],
    ['EDQUOT', 'storage_full'],
    ['SQLITE_READONLY', 'storage_unavailable'],
    ['SQLITE_READONLY_DBMOVED', 'storage_unavailable'],
    ['SQLITE_IOERR', 'storage_unavailable'],
    ['SQLITE_IOERR_WRITE', 'storage_unavailable'],
    ['SQLITE_IOERR_FSYNC', 'storage_unavailable'],
    ['SQLITE_CANTOPEN', 'storage_unavailable'],
    ['SQLITE_BUSY', 'storage_unavailable'],
    ['EROFS', 'storage_unavailable'],
    ['EIO', 'storage_unavailable'],
    ['ECONNREFUSED', 'storage_unavailable'],
    ['ECONNRESET', 'storage_unavailable'],
    ['57P01', 'storage_unavailable'], // admin_shutdown (pg_ctl stop -m fast)
    ['57P02', 'storage_unavailable'], // crash_shutdown
    ['57P03', 'storage_unavailable'], // cannot_connect_now (starting up, recovering)
    ['08006', 'storage_unavailable'], // connection_failure
    ['25006', 'storage_unavailable'], // read_only_sql_transaction
  ] as const)('%s is %s', (code, expected) => {
    expect(storageFailureCode(driverError(code))).toBe(expected);
    expect(storageError(driverError(code)).code).toBe(expected);
    const d = describeError(driverError(code));
    expect(d).toMatchObject({ code: expected, status: expected === 'storage_full' ? 507 : 503 });
  });

  it('names a connection pg lost mid-query by its message', () => {
    expect(storageFailureCode(new Error('Connection terminated unexpectedly'))).toBe('storage_unavailable');
    expect(storageFailureCode(new Error('Client has encountered a connection error and is not queryable'))).toBe('storage_unavailable');
  });

  it('leaves everything else alone: a constraint is a refused write (503 unavailable), a bug stays a 500', () => {
    for (const e of [driverError('SQLITE_CONSTRAINT_PRIMARYKEY'), driverError('23505'), new TypeError('x is undefined'), 'a string', null, { code: 42 }]) {
      expect(storageFailureCode(e)).toBeUndefined();
    }
    expect(storageError(driverError('23505')).code).toBe('unavailable');
    expect(describeError(new TypeError('x is undefined'))).toBeUndefined();
  });
});
