// ds_cases_lib.js -- the DataScript side of scripts/ds_cases.js: loads the
// npm package (installed by `npm install` in benchmarks/peers), exposes the
// ClojureScript functions its JavaScript API calls (the same way
// benchmarks/peers/datascript_peer.js does), reads and prints EDN, and
// evaluates one case into the text of its :expect.
'use strict';
const fs = require('fs');
const path = require('path');

const peers = path.join(__dirname, '..', 'benchmarks', 'peers');
let modPath;
try {
    modPath = require.resolve('datascript', { paths: [peers] });
} catch (e) {
    throw new Error('the datascript npm package is not installed: run npm install in benchmarks/peers');
}
const api = require(modPath);
const version = require(path.join(path.dirname(modPath), 'package.json')).version;

// {====== Exposing the ClojureScript functions ======

function grab(fn, re, what) {
    const m = fn.toString().match(re);
    if (!m) throw new Error('cannot find ' + what + ' in datascript ' + version + ' (known: 1.8.1)');
    return m;
}
const [, READ, APPLY, Q] = grab(api.q.l,
    /^function\(a,b\)\{a=([\w$]+)\(a\);b=([\w$]+)\(([\w$]+),a,b\);return ([\w$]+)\(b\)\}$/, 'q');
const mp = grab(api.pull, /a=([\w$]+)\?\1\(a,b,c\):([\w$]+)\.call/, 'pull');
const mpm = grab(api.pull_many, /a=([\w$]+)\?\1\(a,b,c\):([\w$]+)\.call/, 'pull_many');
const me = grab(api.empty_db.l, /return ([\w$]+)\([\w$]+\(a\),([\w$]+)\)/, 'empty_db');
const mw = grab(api.db_with, /return ([\w$]+)\.g\?/, 'db_with');
const mt = grab(api.transact.l,
    /b=([\w$]+)\(a,b,c\);c=([\w$]+)\.h\(b\);var d=([\w$]+)\.h\(b\),e=[\w$]+\(([\w$]+)\.h\(b\)\),f=([\w$]+)\.h\(b\)/,
    'transact');
const pick = (m) => `(typeof ${m[1]}!=="undefined"&&${m[1]}?${m[1]}:${m[2]})`;

let src = fs.readFileSync(modPath, 'utf8');
const tail = ';return this.datascript.js;';
const at = src.lastIndexOf(tail);
if (at < 0) throw new Error('unexpected layout of datascript.js');
src = src.slice(0, at) +
    `;this.datascript.js.__gen={read:${READ},apply:${APPLY},q:${Q},` +
    `pull:${pick(mp)},pull_many:${pick(mpm)},empty_db:function(s){return ${me[1]}(s,${me[2]})},` +
    `db_with:function(d,tx){return ${mw[1]}.g?${mw[1]}.g(d,tx):${mw[1]}.call(null,d,tx)},` +
    `transact:function(c,tx){return ${mt[1]}(c,tx,null)},` +
    `tx_data:function(r){return ${mt[4]}.h(r)},tempids:function(r){return ${mt[5]}.h(r)},` +
    `seq:function(a){return new $a(a,0,null)}};` +
    src.slice(at);
const Module = module.constructor;
const m = new Module(modPath, module);
m.filename = modPath;
m.paths = module.paths;
m._compile(src, modPath);
const ds = m.exports.__gen;
if (!ds) throw new Error('could not expose the DataScript internals');

// }======

// {====== EDN ======

// Values: {t:'vec'|'list'|'set', items}, {t:'map', pairs}, {t:'kw'|'sym'|'str'|'num', s},
// {t:'nil'}, {t:'bool', v}, {t:'tag', tag, val}
function parse(text) {
    let i = 0;
    const n = text.length;
    const ws = () => {
        for (;;) {
            while (i < n && /[\s,]/.test(text[i])) i++;
            if (text[i] === ';') {
                while (i < n && text[i] !== '\n') i++;
            } else return;
        }
    };
    const delim = (c) => c === undefined || /[\s,()[\]{}"]/.test(c);
    function seq(close) {
        const items = [];
        for (;;) {
            ws();
            if (i >= n) throw new Error('EDN: unterminated');
            if (text[i] === close) {
                i++;
                return items;
            }
            items.push(val());
        }
    }
    function val() {
        ws();
        const c = text[i];
        if (c === '[') return i++, { t: 'vec', items: seq(']') };
        if (c === '(') return i++, { t: 'list', items: seq(')') };
        if (c === '{') {
            i++;
            const it = seq('}');
            const pairs = [];
            for (let k = 0; k < it.length; k += 2) pairs.push([it[k], it[k + 1]]);
            return { t: 'map', pairs };
        }
        if (c === '#') {
            if (text[i + 1] === '{') return i += 2, { t: 'set', items: seq('}') };
            if (text[i + 1] === '#') {
                i += 2;
                let s = '';
                while (!delim(text[i])) s += text[i++];
                return { t: 'num', s: '##' + s };
            }
            if (text[i + 1] === '"') {
                i++;
                const s = val();
                return { t: 'tag', tag: 're', val: s };
            }
            i++;
            let tag = '';
            while (!delim(text[i])) tag += text[i++];
            return { t: 'tag', tag, val: val() };
        }
        if (c === '"') {
            i++;
            let s = '';
            while (text[i] !== '"') {
                if (i >= n) throw new Error('EDN: unterminated string');
                if (text[i] === '\\') {
                    const e = text[i + 1];
                    i += 2;
                    if (e === 'n') s += '\n';
                    else if (e === 't') s += '\t';
                    else if (e === 'r') s += '\r';
                    else if (e === 'u') s += String.fromCharCode(parseInt(text.substr(i, 4), 16)), i += 4;
                    else s += e;
                } else s += text[i++];
            }
            i++;
            return { t: 'str', s };
        }
        let s = '';
        while (!delim(text[i])) s += text[i++];
        if (!s) throw new Error('EDN: unexpected ' + JSON.stringify(text.slice(i, i + 20)));
        if (s === 'nil') return { t: 'nil' };
        if (s === 'true' || s === 'false') return { t: 'bool', v: s === 'true' };
        if (s[0] === ':') return { t: 'kw', s: s.slice(1) };
        if (/^[-+]?\d/.test(s)) return { t: 'num', s };
        return { t: 'sym', s };
    }
    const v = val();
    return v;
}

function printStr(s) {
    let o = '"';
    for (const ch of s) {
        if (ch === '"') o += '\\"';
        else if (ch === '\\') o += '\\\\';
        else if (ch === '\n') o += '\\n';
        else if (ch === '\t') o += '\\t';
        else if (ch === '\r') o += '\\r';
        else o += ch;
    }
    return o + '"';
}

function print(v) {
    switch (v.t) {
    case 'vec': return '[' + v.items.map(print).join(' ') + ']';
    case 'list': return '(' + v.items.map(print).join(' ') + ')';
    case 'set': return '#{' + v.items.map(print).join(' ') + '}';
    case 'map': return '{' + v.pairs.map(([k, x]) => print(k) + ' ' + print(x)).join(' ') + '}';
    case 'kw': return ':' + v.s;
    case 'sym': return v.s;
    case 'num': return v.s;
    case 'str': return printStr(v.s);
    case 'nil': return 'nil';
    case 'bool': return String(v.v);
    case 'tag': return v.tag === 're' ? '#' + print(v.val) : '#' + v.tag + ' ' + print(v.val);
    }
    throw new Error('print: ' + JSON.stringify(v));
}

// A DataScript result (ClojureScript value or JavaScript primitive) as a
// parsed EDN value, through ClojureScript's own printer (toString).
function fromCljs(x) {
    if (x === null || x === undefined) return { t: 'nil' };
    if (typeof x === 'string') return { t: 'str', s: x };
    if (typeof x === 'number') {
        if (Number.isNaN(x)) return { t: 'num', s: '##NaN' };
        if (!Number.isFinite(x)) return { t: 'num', s: x > 0 ? '##Inf' : '##-Inf' };
        return { t: 'num', s: String(x) };
    }
    if (typeof x === 'boolean') return { t: 'bool', v: x };
    if (x instanceof RegExp) return { t: 'tag', tag: 're', val: { t: 'str', s: x.source } };
    return parse(String(x));
}

// Vectors inside maps as sets: the suite writes pulled cardinality-many
// values as sets (its README: they compare as sets).
function pulledSets(v, inMap) {
    if (v.t === 'map')
        return { t: 'map', pairs: v.pairs.map(([k, x]) => [k, pulledSets(x, true)]) };
    if (v.t === 'vec' || v.t === 'list' || v.t === 'set') {
        const items = v.items.map((x) => pulledSets(x, false));
        return { t: inMap && v.t === 'vec' ? 'set' : v.t, items };
    }
    return v;
}

// }======

// {====== Evaluating a case ======

function loadDb(schemaText, dataText) {
    return ds.db_with(ds.empty_db(ds.read(schemaText)), ds.read(dataText));
}

function errorExpect(e) {
    const msg = String(e && e.message ? e.message : e).split('\n')[0].slice(0, 300);
    return `{:type :error :message ${printStr(msg)}}`;
}

// Finds the :find clause's shape: {kind, hasPull, keys}.
function findShape(q) {
    let items = [];
    let keys = false;
    if (q.t === 'map') {
        for (const [k, v] of q.pairs) {
            if (k.t === 'kw' && k.s === 'find') items = v.items;
            if (k.t === 'kw' && ['keys', 'strs', 'syms'].includes(k.s)) keys = true;
        }
    } else {
        let cur = null;
        for (const x of q.items) {
            if (x.t === 'kw') {
                cur = x.s;
                if (['keys', 'strs', 'syms'].includes(cur)) keys = true;
                continue;
            }
            if (cur === 'find') items.push(x);
        }
    }
    const hasPull = items.some(function walk(x) {
        return (x.t === 'list' && x.items[0] && x.items[0].s === 'pull') ||
            ((x.t === 'vec' || x.t === 'list') && x.items.some(walk));
    });
    let kind = 'relation';
    if (items.length === 2 && items[1].t === 'sym' && items[1].s === '.') kind = 'scalar';
    else if (items.length === 1 && items[0].t === 'vec') {
        const inner = items[0].items;
        kind = inner.length === 2 && inner[1].t === 'sym' && inner[1].s === '...' ? 'collection' : 'tuple';
    }
    if (keys) kind = 'relation-maps';
    return { kind, hasPull, keys };
}

function evalQuery(c, d) {
    const qv = parse(c.query);
    const shape = findShape(qv);
    let r;
    try {
        const q = ds.read(c.query);
        const inputs = c.inputs.map((t) => (t === '$' ? d.db : ds.read(t)));
        r = fromCljs(ds.apply(ds.q, q, ds.seq(inputs))); // printing realizes lazy results
    } catch (e) {
        return errorExpect(e);
    }
    let v = r;
    if (shape.hasPull && !shape.keys) v = pulledSets(v, false);
    const asVec = (x) => (x.t === 'nil' ? [] : x.items);
    switch (shape.kind) {
    case 'scalar':
    case 'tuple':
        return `{:type :${shape.kind} :value ${print(v)}}`;
    case 'collection':
        return `{:type :collection :items [${asVec(v).map(print).join(' ')}]}`;
    default:
        return `{:type :${shape.kind} :distinct ${v.t === 'set'} :rows [${asVec(v).map(print).join(' ')}]}`;
    }
}

function evalPull(c, d) {
    let r;
    try {
        const pat = ds.read(c.query);
        const eid = ds.read(c.inputs[0]);
        r = fromCljs(c.op === 'pull' ? ds.pull(d.db, pat, eid) : ds.pull_many(d.db, pat, eid));
    } catch (e) {
        return errorExpect(e);
    }
    return `{:type :${c.op} :value ${print(pulledSets(r, false))}}`;
}

function datomText(dv, withAdded) {
    // #datascript/Datom [e a v tx added]
    const [e, a, v, , added] = dv.val.items;
    return '[' + [e, a, v].map(print).join(' ') + (withAdded ? ' ' + print(added) : '') + ']';
}

function evalTx(c, d) {
    let db = d.db;
    const reports = [];
    try {
        const conn = api.conn_from_db(db);
        if (c.seed) ds.transact(conn, ds.read(c.seed));
        for (const t of c.txs) {
            const rep = ds.transact(conn, ds.read(t));
            const txd = fromCljs(ds.tx_data(rep)).items;
            const tids = fromCljs(ds.tempids(rep)).pairs.filter(([k]) => !(k.t === 'kw' && k.s === 'db/current-tx'));
            reports.push(`{:tempids {${tids.map(([k, v]) => print(k) + ' ' + print(v)).join(' ')}} ` +
                `:tx-data [${txd.filter((x) => Number(x.val.items[0].s) < 536870912).map((x) => datomText(x, true)).join(' ')}]}`);
        }
        db = api.db(conn);
    } catch (e) {
        return errorExpect(e);
    }
    // every datom afterwards, through a query ([?e ?a ?v] scans the database)
    const rows = fromCljs(ds.apply(ds.q, ds.read('[:find ?e ?a ?v :where [?e ?a ?v]]'), ds.seq([db])));
    const dtext = rows.items.filter((r) => Number(r.items[0].s) < 536870912).map(print);
    return `{:type :tx :datoms [${dtext.join(' ')}] :reports [${reports.join(' ')}]}`;
}

function evaluate(c, d) {
    if (c.op === 'q') return evalQuery(c, d);
    if (c.op === 'pull' || c.op === 'pull-many') return evalPull(c, d);
    if (c.op === 'tx') return evalTx(c, d);
    throw new Error('unknown op ' + c.op);
}

// }======

module.exports = { version, parse, print, loadDb, evaluate, ds, api };
