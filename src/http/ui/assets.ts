/** The dashboard's only stylesheet, served from this server so the CSP can say `style-src 'self'`. */
export const STYLESHEET = `
:root { --fg: #1d2433; --muted: #5b6475; --line: #dde2ea; --bg: #f6f7f9; --card: #fff;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --busy: #0969da; --idle: #6e7781; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: #0550ae; }
.top { background: #1d2433; padding: .6rem 1rem; }
.brand { color: #fff; font-weight: 700; text-decoration: none; letter-spacing: .02em; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.35rem; margin: .2rem 0 .6rem; word-break: break-word; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; margin: .6rem 0; }
.muted { color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600; color: #fff; white-space: nowrap; }
.s-synced, .s-succeeded, .s-Current { background: var(--ok); }
.s-progressing, .s-running, .s-queued, .s-InProgress { background: var(--busy); }
.s-out-of-sync, .s-drifted, .s-superseded, .s-Terminating { background: var(--warn); }
.s-degraded, .s-failed, .s-Failed, .s-NotFound { background: var(--bad); }
.s-not-deployed { background: var(--idle); }
.error { border-left: 4px solid var(--bad); background: #fff5f5; padding: .6rem .8rem; white-space: pre-wrap; word-break: break-word; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; word-break: break-word; }
.phase { display: flex; align-items: center; gap: .6rem; }
meter { width: 10rem; height: .8rem; }
.log { background: #0d1117; color: #e6edf3; padding: .7rem; border-radius: 6px; overflow-x: auto; font-size: .85rem; white-space: pre-wrap; }
.log .l-warn { color: #e3b341; } .log .l-error { color: #ff7b72; }
form.inline { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; }
input[type=password] { padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
button { padding: .35rem .9rem; border: 0; border-radius: 6px; background: #1f883d; color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
@media (max-width: 640px) {
  th.opt, td.opt { display: none; }
  table.cards thead { display: none; }
  table.cards tr { display: block; border-bottom: 1px solid var(--line); padding: .3rem 0; }
  table.cards td { display: block; border: 0; padding: .15rem .6rem; }
  table.cards td.opt { display: block; }
  table.cards td[data-label]::before { content: attr(data-label); display: block; font-size: .75rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
  .facts { grid-template-columns: 1fr; }
  .facts dt { margin-top: .3rem; }
}
`;

/** A small favicon, so browsers do not log a 404 for /favicon.ico. */
export const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d2433"/><path d="M5 22h22l-5-8-4 5-3-4z" fill="#3fb950"/></svg>`;
