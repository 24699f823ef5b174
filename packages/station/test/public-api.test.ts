/** The package's public face: `import { Station } from '@backchannel/station'` resolves, with exactly the listed exports. */
import { describe, expect, it } from 'vitest';
import * as station from '@backchannel/station';

describe('@backchannel/station public API', () => {
  it('exports the station and its parts by name', () => {
    expect(Object.keys(station).sort()).toEqual(
      [
        'ACK_BURST_MS',
        'ARCHIVE_TYPE',
        'ARCHIVE_VERSION',
        'decodeArchive',
        'escapeHtml',
        'exportThreadArchive',
        'renderArchiveHtml',
        'verifyArchive',
        'ALERT_KINDS',
        'NO_WITNESS_POLICY',
        'checkQuorum',
        'decodeGossip',
        'encodeGossip',
        'makeWitnessPolicy',
        'DEFAULT_POLICY',
        'DEFAULT_ROTATION_WARN_DAYS',
        'supersededKeys',
        'HttpRelayClient',
        'MIGRATIONS',
        'STATION_ERROR_CODES',
        'SqliteStationStore',
        'Station',
        'StationError',
        'Watch',
        'codeOf',
        'connectHttp',
        'connectPushWs',
        'decideMerge',
        'describeFailure',
        'isConsistent',
        'isStationError',
        'makePolicy',
        'migrate',
        'objectiveMs',
        'openPush',
        'openSqliteStore',
        'planChannels',
        'sleep',
        'systemClock',
      ].sort(),
    );
    expect(typeof station.Station.open).toBe('function');
  });
});
