#!/usr/bin/env node
// ds_cases.js -- generates conformance cases from templates with random
// constants over the shared datasets, lets DataScript (the npm package
// pinned in benchmarks/peers/package.json) answer them, and writes them
// in the format of the shared suite's cases.edn (its README says how the
// expectations compare).  A developer tool: CI does not run it (CI has
// no node); test_query_dscases runs the file it writes (docs/conformance.md).
//
//   node scripts/ds_cases.js [--seed N] [--per K] [--shared DIR] [--out FILE]
//
//   --seed N     random seed (default 1): the same seed gives the same file
//   --per K      cases per template (default 4); duplicates are dropped
//   --shared DIR the shared folder holding conformance/datasets
//                (default: $DT_SHARED_DIR, else ../shared beside the checkout)
//   --out FILE   output (default: standard output)
//   --only CAT   only the templates of category CAT
//   --exclude F  leave out the cases whose query text (or first
//                transaction) is a line of F: the known divergences,
//                where DataScript's answer is a quirk Datolite does not
//                copy (lines starting with ';' are comments)
'use strict';
const fs = require('fs');
const path = require('path');

const DS = require('./ds_cases_lib.js');

// {====== Arguments ======

const argv = process.argv.slice(2);
const opt = { seed: 1, per: 4, shared: null, out: null, only: null, exclude: null };
for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
        if (i + 1 >= argv.length) throw new Error(a + ' needs a value');
        return argv[++i];
    };
    if (a === '--seed') opt.seed = Number(next());
    else if (a === '--per') opt.per = Number(next());
    else if (a === '--shared') opt.shared = next();
    else if (a === '--out') opt.out = next();
    else if (a === '--only') opt.only = next();
    else if (a === '--exclude') opt.exclude = next();
    else throw new Error('unknown argument ' + a);
}
const shared =
    opt.shared || process.env.DT_SHARED_DIR || path.join(__dirname, '..', '..', 'shared');
const dsdir = path.join(shared, 'conformance', 'datasets');

// }======

// {====== Random constants ======

let rngState = (opt.seed >>> 0) || 1;
function rnd() {
    // xorshift32
    rngState ^= rngState << 13;
    rngState >>>= 0;
    rngState ^= rngState >>> 17;
    rngState ^= rngState << 5;
    rngState >>>= 0;
    return rngState / 4294967296;
}
const ri = (n) => Math.floor(rnd() * n);
const pick = (xs) => xs[ri(xs.length)];
const edn = DS.print;
const str = (s) => edn({ t: 'str', s });

// Datasets: name -> {schema text, entities: [{id, attrs: {a: [values as EDN]}}]}
const datasets = {};
for (const name of ['people', 'shop', 'family', 'graph', 'medium']) {
    const schemaText = fs.readFileSync(path.join(dsdir, name + '.schema.edn'), 'utf8').trim();
    const data = DS.parse(fs.readFileSync(path.join(dsdir, name + '.edn'), 'utf8'));
    const ents = [];
    const attrs = {};
    for (const m of data.items) {
        const e = { id: null, attrs: {} };
        for (const [k, v] of m.pairs) {
            if (k.s === 'db/id') {
                e.id = Number(v.s);
                continue;
            }
            const vals = v.t === 'vec' ? v.items : [v];
            e.attrs[k.s] = vals.map(edn);
            (attrs[k.s] = attrs[k.s] || []).push(...vals.map(edn));
        }
        ents.push(e);
    }
    const schema = DS.parse(schemaText);
    const sch = {};
    for (const [k, v] of schema.pairs) {
        sch[k.s] = {};
        for (const [pk, pv] of v.pairs) sch[k.s][pk.s] = pv.s;
    }
    datasets[name] = { name, schemaText, ents, attrs, sch, db: DS.loadDb(schemaText, fs.readFileSync(path.join(dsdir, name + '.edn'), 'utf8')) };
}
const D = datasets;
function attrsOf(d) {
    return Object.keys(D[d].attrs);
}
function valOf(d, a) {
    return pick(D[d].attrs[a]);
}
function entOf(d, pred) {
    const es = D[d].ents.filter((e) => !pred || pred(e));
    return pick(es);
}
function idOf(d, pred) {
    return entOf(d, pred).id;
}
const isRef = (d, a) => (D[d].sch[a] || {})['db/valueType'] === 'db.type/ref';
const isMany = (d, a) => (D[d].sch[a] || {})['db/cardinality'] === 'db.cardinality/many';
const uniqueAttrs = (d) => Object.keys(D[d].sch).filter((a) => D[d].sch[a]['db/unique']);
function lookupRef(d) {
    const a = pick(uniqueAttrs(d));
    return `[:${a} ${valOf(d, a)}]`;
}

// }======

const templates = require('./ds_cases_templates.js')({ D, ri, pick, str, attrsOf, valOf, entOf, idOf, isRef, isMany, uniqueAttrs, lookupRef });

// {====== Generating ======

const excluded = new Set(
    opt.exclude
        ? fs.readFileSync(opt.exclude, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith(';'))
        : []);
const seen = new Set();
const out = [];
const counts = {};
for (const t of templates) {
    if (opt.only && t.cat !== opt.only) continue;
    let made = 0;
    // transaction cases carry every datom of the database: fewer of them
    const per = t.cat === 'transactions' ? Math.max(1, opt.per >> 1) : opt.per;
    for (let tries = 0; made < per && tries < per * 6; tries++) {
        const c = t.gen();
        if (!c) continue;
        c.category = t.cat;
        c.op = c.op || 'q';
        c.dataset = c.dataset || 'people';
        c.inputs = c.inputs || (c.op === 'q' ? ['$'] : []);
        const key = JSON.stringify([c.op, c.dataset, c.query, c.txs, c.seed, c.inputs]);
        if (seen.has(key)) continue;
        seen.add(key);
        if (excluded.has(c.op === 'tx' ? c.txs[0] : c.query)) continue;
        c.expect = DS.evaluate(c, D[c.dataset]);
        if (c.expect === null) continue; // DataScript hung or the template is unusable
        made++;
        counts[t.cat] = (counts[t.cat] || 0) + 1;
        c.id = `ds-${t.cat}-${String(counts[t.cat]).padStart(3, '0')}`;
        out.push(c);
    }
}

function caseText(c) {
    const lines = [`{:id ${str(c.id)}`, ` :category ${str(c.category)}`, ` :op :${c.op}`];
    if (c.dataset) lines.push(` :dataset ${str(c.dataset)}`);
    lines.push(` :schema ${D[c.dataset].schemaText}`);
    if (c.op === 'tx') {
        if (c.seed) lines.push(` :seed-tx ${str(c.seed)}`);
        lines.push(` :txs [${c.txs.map(str).join(' ')}]`);
    } else {
        lines.push(` :query ${str(c.query)}`);
        lines.push(` :inputs [${c.inputs.map(str).join(' ')}]`);
    }
    lines.push(` :expect ${c.expect}}`);
    return lines.join('\n');
}

const text =
    ';; Generated by scripts/ds_cases.js (seed ' + opt.seed + ', ' + opt.per +
    ' per template); expectations computed by DataScript ' + DS.version + '.\n[\n' +
    out.map(caseText).join('\n\n') + '\n]\n';
if (opt.out) fs.writeFileSync(opt.out, text);
else process.stdout.write(text);
process.stderr.write(
    Object.keys(counts).sort().map((k) => `${k}: ${counts[k]}`).join('\n') + `\ntotal: ${out.length}\n`);

// }======
