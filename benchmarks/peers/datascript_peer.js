#!/usr/bin/env node
// datascript_peer.js -- DataScript (the npm package, version pinned in
// package.json) as a peer of query_bench: it loads the same EDN files with
// DataScript's own reader and times already-parsed queries and pulls, the
// way DataScript's own benchmark calls its query function.  query_bench
// starts it and talks to it over stdin/stdout, one JSON object per line.
//
//   node datascript_peer.js SCHEMA.edn NAME=FILE.edn ...
//     -> {"ready":true,"version":"1.8.1","load_ms":{NAME:ms,...}}
//   {"def":ID,"db":NAME,"q":TEXT,"in":[EDN,...]}          a query; the inputs
//        after $ as EDN texts (rules too), read once here
//   {"def":ID,"db":NAME,"pull":PATTERN,"eid":EDN}         a pull
//     -> {"def":ID,"rows":N}  (rows: result size, or leaf values of a pull)
//   {"run":ID,"ms":T}   calls it until T ms have passed (at least once),
//     -> {"run":ID,"n":calls,"median_ms":..,"mean_ms":..,"min_ms":..}
//   {"show":ID}  -> {"show":RESULT} the result as JSON (for debugging)
//   {"quit":true}
//
// The package is compiled with Closure's advanced mode and exports only
// its JavaScript API, which reads the query text and converts the result
// to JavaScript on every call.  To time the query alone, this script
// finds the compiled names of the ClojureScript functions that API calls
// (the EDN reader, datascript.core/q, pull, pull-many, empty-db, db-with)
// in the API functions' own source, and loads the package once more with
// one line appended that exposes them.
'use strict';
const fs = require('fs');
const path = require('path');

function die(msg) {
    process.stdout.write(JSON.stringify({ error: msg }) + '\n');
    process.exit(1);
}

let modPath;
try {
    modPath = require.resolve('datascript');
} catch (e) {
    die('the datascript npm package is not installed: run npm install in benchmarks/peers');
}
const api = require(modPath);
const version = require(path.join(path.dirname(modPath), 'package.json')).version;

// Compiled names, read from the API functions' source.
function grab(fn, re, what) {
    const m = fn.toString().match(re);
    if (!m) die('cannot find ' + what + ' in datascript ' + version + ' (the peer knows 1.8.1)');
    return m;
}
const mq = grab(api.q.l, /^function\(a,b\)\{a=([\w$]+)\(a\);b=([\w$]+)\(([\w$]+),a,b\);return ([\w$]+)\(b\)\}$/,
    'q');
const [, READ, APPLY, Q, TOJS] = mq;
const mp = grab(api.pull, /a=([\w$]+)\?\1\(a,b,c\):([\w$]+)\.call(?:.|\n)*return ([\w$]+)\(a\)\}$/,
    'pull');
const mpm = grab(api.pull_many, /a=([\w$]+)\?\1\(a,b,c\):([\w$]+)\.call/, 'pull_many');
const me = grab(api.empty_db.l, /return ([\w$]+)\([\w$]+\(a\),([\w$]+)\)/, 'empty_db');
const mw = grab(api.db_with, /return ([\w$]+)\.g\?/, 'db_with');
const pick = (m) => `(typeof ${m[1]}!=="undefined"&&${m[1]}?${m[1]}:${m[2]})`;

let src = fs.readFileSync(modPath, 'utf8');
const tail = ';return this.datascript.js;';
const at = src.lastIndexOf(tail);
if (at < 0) die('unexpected layout of datascript.js');
src = src.slice(0, at) +
    `;this.datascript.js.__internal={read:${READ},apply:${APPLY},q:${Q},tojs:${TOJS},` +
    `pull:${pick(mp)},pulljs:${mp[3]},pull_many:${pick(mpm)},empty_db:function(s){return ${me[1]}(s,${me[2]})},` +
    `db_with:function(d,tx){return ${mw[1]}.g?${mw[1]}.g(d,tx):${mw[1]}.call(null,d,tx)},seq:function(a){return new $a(a,0,null)}};` +
    src.slice(at);
const Module = module.constructor;
const m = new Module(modPath, module);
m.filename = modPath;
m.paths = module.paths;
m._compile(src, modPath);
const ds = m.exports.__internal;
if (!ds) die('could not expose the DataScript internals');

// Loading: the same EDN text files, read by DataScript's reader.
const args = process.argv.slice(2);
if (args.length < 1) die('usage: datascript_peer.js SCHEMA.edn NAME=FILE.edn ...');
const schema = ds.read(fs.readFileSync(args[0], 'utf8'));
const dbs = {};
const loadMs = {};
for (const a of args.slice(1)) {
    const eq = a.indexOf('=');
    const name = a.slice(0, eq);
    const t0 = process.hrtime.bigint();
    const tx = ds.read(fs.readFileSync(a.slice(eq + 1), 'utf8'));
    dbs[name] = ds.db_with(ds.empty_db(schema), tx);
    loadMs[name] = Number(process.hrtime.bigint() - t0) / 1e6;
}

// Leaf values of a pull result (maps and vectors are walked).
function leaves(x) {
    if (x === null || x === undefined) return 0;
    if (Array.isArray(x)) return x.reduce((s, y) => s + leaves(y), 0);
    if (typeof x === 'object') return Object.values(x).reduce((s, y) => s + leaves(y), 0);
    return 1;
}

const work = {};
const shown = {};
function define(d) {
    const db = dbs[d.db];
    if (!db) die('no database ' + d.db);
    let call, size;
    if (d.q !== undefined) {
        const q = ds.read(d.q);
        const inputs = [db].concat((d.in || []).map((t) => ds.read(t)));
        call = () => ds.apply(ds.q, q, ds.seq(inputs));
        size = (r) => ds.tojs(r).length;
    } else {
        const pat = ds.read(d.pull);
        const eid = ds.read(d.eid);
        call = () => ds.pull(db, pat, eid);
        // keywords as ":ns/name" strings, as the JavaScript API returns
        // them (plain conversion would merge :db/id with :id)
        size = (r) => leaves(ds.pulljs(r));
    }
    work[d.def] = call;
    shown[d.def] = () => (d.q !== undefined ? ds.tojs : ds.pulljs)(call());
    return { def: d.def, rows: size(call()) };
}

function run(d) {
    const call = work[d.run];
    if (!call) die('no workload ' + d.run);
    const times = [];
    let sink = 0;
    const end = process.hrtime.bigint() + BigInt(Math.round(d.ms * 1e6));
    do {
        const t0 = process.hrtime.bigint();
        const r = call();
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (r !== null) sink++;
    } while (process.hrtime.bigint() < end);
    times.sort((x, y) => x - y);
    const n = times.length;
    const median = n % 2 ? times[(n - 1) / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    const mean = times.reduce((s, x) => s + x, 0) / n;
    return { run: d.run, n, median_ms: median, mean_ms: mean, min_ms: times[0], sink };
}

process.stdout.write(JSON.stringify({ ready: true, version, load_ms: loadMs }) + '\n');
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        let d, out;
        try {
            d = JSON.parse(line);
            if (d.quit) process.exit(0);
            if (d.show !== undefined) out = { show: shown[d.show]() };
            else out = d.def !== undefined ? define(d) : run(d);
        } catch (e) {
            out = { error: String(e && e.message ? e.message : e) };
        }
        process.stdout.write(JSON.stringify(out) + '\n');
    }
});
process.stdin.on('end', () => process.exit(0));
