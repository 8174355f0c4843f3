import { describe, expect, it } from 'vitest';
import { testReportText } from './push';

describe('testReportText', () => {
  it('says where the test notification went', () => {
    expect(testReportText({ subscriptions: 0, delivered: 0, removed: 0, failed: 0 })).toBe('No device is subscribed.');
    expect(testReportText({ subscriptions: 1, delivered: 1, removed: 0, failed: 0 })).toBe('Sent to 1 device.');
    expect(testReportText({ subscriptions: 4, delivered: 2, removed: 1, failed: 1 })).toBe(
      "Sent to 2 devices; 1 device no longer subscribed (removed); 1 device failed (see the control plane's log).",
    );
  });
});
