import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from './sse-parser.js';

function parse(chunks: string[]): { events: SseEvent[]; comments: string[] } {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const p = new SseParser({ event: (e) => events.push(e), comment: (c) => comments.push(c) });
  for (const c of chunks) p.push(c);
  return { events, comments };
}

describe('SseParser', () => {
  it('parses events, ids, comments and multi-line data', () => {
    const { events, comments } = parse(['event: snapshot\nid: 4\ndata: {"a":1}\n\n: heartbeat\n\ndata: x\ndata: y\n\n']);
    expect(events).toEqual([
      { event: 'snapshot', data: '{"a":1}', id: '4' },
      { event: 'message', data: 'x\ny', id: '4' },
    ]);
    expect(comments).toEqual(['heartbeat']);
  });

  it('handles any chunking and CRLF / CR line ends', () => {
    const text = 'event: change\r\nid: 5\r\ndata: {"v":5}\r\n\r\nevent: change\rid: 6\rdata: 6\r\r';
    const whole = parse([text]).events;
    const split = parse(text.split('')).events;
    expect(whole).toEqual([
      { event: 'change', data: '{"v":5}', id: '5' },
      { event: 'change', data: '6', id: '6' },
    ]);
    expect(split).toEqual(whole);
  });

  it('ignores events without data and unknown fields', () => {
    expect(parse(['event: x\nfoo: bar\n\n']).events).toEqual([]);
  });
});
