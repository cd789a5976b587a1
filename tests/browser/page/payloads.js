// The payload corpus of tests/browser/run-corpus.sh, what each server is expected to echo, and
// how a difference is shown. Loaded by page/corpus.html (as window.Payloads) and by node
// (require) alike; it builds every string itself, so no payload ever crosses the
// browser-automation protocol (which would not carry lone surrogates intact).
(function (exports) {
  'use strict';

  const CHUNK = 4096; // code points per message of the U+0000-U+FFFF sweep
  const SURROGATE_RUN = 256; // lone surrogates per message
  const BIG = 64 * 1024; // code units of the large messages

  const range = (from, to) => { // code points from..to inclusive, as a string
    const units = [];
    for (let c = from; c <= to; c++) units.push(String.fromCodePoint(c));
    return units.join('');
  };
  const hex = (c) => 'U+' + c.toString(16).toUpperCase().padStart(4, '0');

  // Every code point U+0000-U+FFFF except the surrogates, CHUNK per message.
  function sweep() {
    const out = [];
    for (let from = 0; from < 0x10000; from += CHUNK) {
      const to = from + CHUNK - 1;
      if (from <= 0xd800 && to >= 0xdfff) {
        out.push([hex(from) + '-' + hex(0xd7ff), range(from, 0xd7ff)]);
        if (to > 0xdfff) out.push([hex(0xe000) + '-' + hex(to), range(0xe000, to)]);
      } else {
        out.push([hex(from) + '-' + hex(to), range(from, to)]);
      }
    }
    return out;
  }

  // The 2048 surrogate code points as lone surrogates: runs of high ones (no low one follows)
  // and runs of low ones (no high one before), so no two of them pair up.
  function surrogates() {
    const out = [];
    for (let from = 0xd800; from < 0xe000; from += SURROGATE_RUN) {
      const to = from + SURROGATE_RUN - 1;
      out.push(['lone ' + hex(from) + '-' + hex(to), range(from, to)]);
    }
    return out;
  }

  // Every 257th astral code point (U+10000-U+10FFFF), as surrogate pairs.
  function astral() {
    const units = [];
    for (let c = 0x10000; c <= 0x10ffff; c += 257) units.push(String.fromCodePoint(c));
    units.push(String.fromCodePoint(0x10ffff));
    return units.join('');
  }

  // `unit` repeated to exactly `n` code units, never ending inside a surrogate pair.
  function fill(unit, n) {
    let s = unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
    const last = s.charCodeAt(s.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) s = s.slice(0, -1) + 'x';
    return s;
  }

  const SPECIALS = [
    ['empty', ''],
    ['lone high in text', 'a\ud800b'],
    ['cut emoji', '\ud83d'],
    ['emoji cut before its end', 'smile \ud83d'],
    ['trailing low surrogate', 'tail \ude00'],
    ['reversed pair', '\ude00\ud83d'],
    ['lone high before a pair', '\ud83d\ud83d\ude00'],
    ['pair then lone low', '\ud83d\ude00\ude00'],
    ['emoji', '\u{1F600}\u{1F680}\u{1F44D}\u{1F3FD}'],
    ['zwj family', '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}\u200d\u{1F466}'],
    ['U+10000 and U+10FFFF', '\u{10000}\u{10FFFF}'],
    ['astral sweep', astral()],
    ['U+2028 U+2029', 'a\u2028b\u2029c'],
    ['U+2028 alone', '\u2028'],
    ['U+2029 alone', '\u2029'],
    ['%41', '%41'],
    ['%2541', '%2541'],
    ['100% sure', '100% sure'],
    ['%E2%82%AC', '%E2%82%AC'],
    ['%zz', '%zz'],
    ['% alone', '%'],
    ['%%', '%%'],
    ['%%41', '%%41'],
    ['%4 (one hex digit)', '%4'],
    ['%C3 (half a UTF-8 sequence)', '%C3'],
    ['%ED%A0%80 (an encoded surrogate)', '%ED%A0%80'],
    ['%0D%0A%00', '%0D%0A%00'],
    ['reserved escapes decodeURI keeps', '%23%24%26%2B%2C%2F%3A%3B%3D%3F%40'],
    ['%u0041', '%u0041'],
    ['trailing %', '50%'],
    ['</script>', '</script>'],
    ['</SCRIPT >', '</SCRIPT >'],
    ['script injection', '</script><script>top.__corpusPwned = 1</script>'],
    ['<!--', '<!--'],
    ['<!-- <script>', '<!--<script>'],
    ['-->', '-->'],
    ['CDATA', '<![CDATA[ ]]>'],
    ['NUL', '\u0000'],
    ['NUL in text', 'a\u0000b'],
    ['CR', '\r'],
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR LF mixed', 'a\rb\nc\r\nd'],
    ['CRLFCRLF', '\r\n\r\n'],
    ['LFLF', '\n\n'],
    ['data: x', 'data: x'],
    ['event stream fields', '\ndata: x\n\nevent: close\nid: 1\nretry: 1\n: comment\n\n'],
    ['tab FF BS VT DEL', '\t\f\b\u000b\u007f'],
    ['double quote', '"'],
    ['single quote', "'"],
    ['backslash', '\\'],
    ['escaped quote', '\\"'],
    ['two backslashes', '\\\\'],
    ['text \\u0041', '\\u0041'],
    ['text \\ud800', '\\ud800'],
    ['JSON array', '["a"]'],
    ['close frame text', 'c[3000,"x"]'],
    ['message frame text', 'a["x"]'],
    ['open frame text', 'o'],
    ['heartbeat frame text', 'h'],
    ['JSON object', '{"a":1}'],
    ['quoted JSON string', '"quoted"'],
    ['BOM', '\ufeff'],
    ['BOM first', '\ufeffx'],
    ['U+FFFD', '\ufffd'],
    ['U+FFFE U+FFFF', '\ufffe\uffff'],
    ['64 KiB mixed', fill('x%41 "\\</script>\r\n\u2028\u00e9\u20ac\u{1F600}\u0000%', BIG)],
    ['64 KiB ascii', 'y'.repeat(BIG)],
  ];

  // The corpus: [name, text] pairs, in the order they are sent.
  exports.corpus = function () {
    return sweep().concat(surrogates(), SPECIALS);
  };

  // `text` with every lone surrogate replaced by U+FFFD (what a lossy UTF-8 decoder makes of
  // its WTF-8 bytes; the same as String.prototype.toWellFormed).
  const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
  exports.wellFormed = function (text) {
    return text.replace(LONE, '\ufffd');
  };

  // What `server` must echo for `text`. sockjs-node keeps JavaScript strings as they are, lone
  // surrogates included. Ours holds Rust Strings, so its documented rule is that each lone
  // surrogate becomes U+FFFD (the session and the rest of the batch are kept); nothing else
  // may change, on any transport.
  exports.expected = function (server, text) {
    if (server === 'node') return text;
    if (server === 'ours') return exports.wellFormed(text);
    throw new Error('unknown server kind ' + server);
  };

  // Printable ASCII only (so it survives any channel): JSON with every other unit as \uXXXX.
  const ascii = (text) => JSON.stringify(text).replace(/[^\x20-\x7e]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));

  // `text` around code unit `at` (`width` units either side), e.g. ..."ab\u0000cd"... (9 units).
  exports.show = function (text, at, width) {
    const from = Math.max(0, (at || 0) - (width || 8));
    const to = Math.min(text.length, (at || 0) + (width || 8));
    return (from > 0 ? '...' : '') + ascii(text.slice(from, to)) + (to < text.length ? '...' : '') +
      ' (' + text.length + ' units)';
  };

  // Where `got` first differs from `want`: { at, line: "unit I: want U+XXXX, got U+YYYY" }
  // ("end" past the last unit), or null when they are equal.
  exports.firstDiff = function (want, got) {
    if (want === got) return null;
    const n = Math.min(want.length, got.length);
    let i = 0;
    while (i < n && want.charCodeAt(i) === got.charCodeAt(i)) i++;
    const unit = (s) => (i < s.length ? hex(s.charCodeAt(i)) : 'end');
    return { at: i, line: 'unit ' + i + ': want ' + unit(want) + ', got ' + unit(got) };
  };

  exports.hex = hex;
})(typeof module === 'object' && module.exports ? module.exports : (window.Payloads = {}));
