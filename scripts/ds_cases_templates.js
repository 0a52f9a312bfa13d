// ds_cases_templates.js -- the case templates of scripts/ds_cases.js: one
// function per template returning {query, inputs, dataset, op} (or
// {op:'tx', txs, seed}); constants are drawn at random from the datasets.
'use strict';
module.exports = function templates(g) {
    const { ri, pick, str, valOf, idOf, lookupRef, D } = g;
    const T = [];
    const add = (cat, gen) => T.push({ cat, gen });
    const V = (a, d = 'people') => valOf(d, a);
    const P = (q, inputs) => ({ query: q, inputs: inputs || ['$'] });
    const num = () => pick(['0', '1', '2', '3', '5', '7', '10', '25', '30', '40', '-3', '2.5']);
    const age = () => pick(['19', '25', '28', '30', '35', '40', '45', '60', '33']);
    const person = () => String(pick([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    const scalarAttr = () => pick(['name', 'last-name', 'age', 'salary', 'sex', 'email', 'height', 'active', 'nick', 'alias']);

    // {====== basic ======
    add('basic', () => {
        const a = scalarAttr();
        return P(`[:find ?e :where [?e :${a} ${V(a)}]]`);
    });
    add('basic', () => P(`[:find ?v :where [${person()} :${scalarAttr()} ?v]]`));
    add('basic', () => P(`[:find ?e ?v :where [?e :${scalarAttr()} ?v]]`));
    add('basic', () => P(`[:find ?a :where [${pick([person(), '20', '400', '500'])} ?a]]`));
    add('basic', () => P(`[:find ?a ?v :where [${person()} ?a ?v]]`));
    add('basic', () => P(`[:find ?n1 ?n2 :where [?e :${pick(['friend', 'follows'])} ?f] [?e :name ?n1] [?f :name ?n2]]`));
    add('basic', () => P(`[:find ?n :where [?e :follows ${person()}] [?e :name ?n]]`));
    add('basic', () => P(`[:find ?e :where [?e :${scalarAttr()}] [?e :${scalarAttr()}]]`));
    add('basic', () => P(`[:find ?e :where [?e :${scalarAttr()} _]]`));
    add('basic', () => P(`[:find ?x :where [_ :${scalarAttr()} ?x]]`));
    add('basic', () => P(`[:find ?e ?x :where [?e :age ?x] [?f :salary ?x]]`));
    add('basic', () => P(`[:find ?e1 ?e2 :where [?e1 :${pick(['age', 'name', 'last-name', 'sex'])} ?v] [?e2 :${pick(['age', 'name', 'last-name', 'sex'])} ?v] [(< ?e1 ?e2)]]`));
    add('basic', () => P(`[:find ?e :where [?e :${pick(['name', 'nick', 'age'])} ${pick(['"Nobody"', '999', ':none', 'nil', 'true'])}]]`));
    add('basic', () => P(`[:find ?o ?p :where [?o :order/lines ?l] [?l :line/product ?p] [?p :product/category ${V('product/category', 'shop')}]]`) && { ...P(`[:find ?o ?p :where [?o :order/lines ?l] [?l :line/product ?p] [?p :product/category ${V('product/category', 'shop')}]]`), dataset: 'shop' });
    add('basic', () => ({ ...P(`[:find ?l :where [?n :node/label ${V('node/label', 'graph')}] [?n :edge/to ?m] [?m :node/label ?l]]`), dataset: 'graph' }));
    add('basic', () => ({ ...P(`[:find ?e :where [?e :order/tags ${pick([':gift', ':rush', ':fragile', ':none'])}]]`), dataset: 'shop' }));
    add('basic', () => P(`[:find ?e ?v :where [?e :${pick(['age', 'name'])} ?v] [(ground ${pick(['1', '2', '3', '5'])}) ?e]]`));
    add('basic', () => P(`{:find [?e ?n] :where [[?e :name ?n] [?e :age ${age()}]]}`));
    add('basic', () => P(`[:find ?e :where [?e :pet/species ${pick([':dog', ':cat', ':fish'])}]]`));
    add('basic', () => P(`[:find ?e :where [?e :follows ?f] [?f :follows ?e]]`));
    add('basic', () => P(`[:find ?n :where [?e :name ?n] [?e :follows ?e]]`));
    add('basic', () => P(`[:find ?v :where [${pick(['"Ivan"', ':male', '25'])} :name ?v]]`));
    // }======

    // {====== predicates ======
    const cmp = ['=', '==', 'not=', '!=', '<', '>', '<=', '>='];
    add('predicates', () => P(`[:find ?e :where [?e :age ?a] [(${pick(cmp)} ?a ${age()})]]`));
    add('predicates', () => P(`[:find ?e :where [?e :age ?a] [(${pick(cmp)} ${age()} ?a)]]`));
    add('predicates', () => P(`[:find ?e :where [?e :age ?a] [(${pick(cmp)} ${age()} ?a ${age()})]]`));
    add('predicates', () => P(`[:find ?e ?f :where [?e :age ?a] [?f :age ?b] [(${pick(cmp)} ?a ?b ${age()})]]`));
    add('predicates', () => P(`[:find ?n :where [_ :name ?n] [(${pick(cmp)} ?n ${str(pick(['Ivan', 'M', 'Olga', 'A', 'Z']))})]]`));
    add('predicates', () => P(`[:find ?e :where [?e :${pick(['height', 'salary', 'age'])} ?h] [(${pick(cmp)} ?h ${pick(['1.75', '1.8', '50000', '30', '30.0', '2'])})]]`));
    add('predicates', () => P(`[:find ?e ?f :where [?e :age ?a] [?f :age ?b] [(${pick(cmp)} ?a ?b)] [(< ?e ?f)]]`));
    add('predicates', () => P(`[:find ?e :where [?e :age ?a] [(${pick(['zero?', 'pos?', 'neg?', 'even?', 'odd?'])} ?a)]]`));
    add('predicates', () => P(`[:find ?e ?r :where [?e :age ?a] [(${pick(['-', 'mod', 'rem'])} ?a ${pick(['30', '7', '-7', '25'])}) ?r] [(${pick(['zero?', 'pos?', 'neg?', 'even?', 'odd?'])} ?r)]]`));
    add('predicates', () => P(`[:find ?e :where [?e :${pick(['active', 'nick', 'name', 'age'])} ?v] [(${pick(['nil?', 'some?', 'true?', 'false?'])} ?v)]]`));
    add('predicates', () => P(`[:find ?e :where [?e :name] [(get-else $ ?e :${pick(['nick', 'active', 'height'])} ${pick(['nil', 'false', '0'])}) ?v] [(${pick(['nil?', 'some?', 'true?', 'false?'])} ?v)]]`));
    add('predicates', () => P(`[:find ?e :where [?e :name] [(missing? $ ?e :${pick(['nick', 'active', 'height', 'alias', 'follows', 'pet', 'salary'])})]]`));
    add('predicates', () => P(`[:find ?e :where [?e :name] (not [(missing? $ ?e :${pick(['nick', 'active', 'height', 'alias', 'pet'])})])]`));
    add('predicates', () => P(`[:find ?n :where [?e :name ?n] [(${pick(['clojure.string/starts-with?', 'clojure.string/ends-with?', 'clojure.string/includes?'])} ?n ${str(pick(['I', 'a', 'an', 'O', 'v', 'r', '']))})]]`));
    add('predicates', () => P(`[:find ?n :where [?e :name ?n] [(re-find #"${pick(['^I', 'a$', '[aeiou]{2}', 'r', '^[A-M]'])}" ?n)]]`));
    add('predicates', () => P(`[:find ?n :where [?e :email ?n] [(re-matches #"${pick(['.*@.*\\\\.ru', 'ivan.*', '[a-z]+@[a-z]+\\\\.ru', 'x.*'])}" ?n)]]`));
    add('predicates', () => P(`[:find ?e :where [?e :sex ?s] [(= ?s ${pick([':male', ':female'])})]]`));
    add('predicates', () => P(`[:find ?e :where [?e :age ?a] [?e :salary ?s] [(< (* ?a 2000) ?s)]]`));
    add('predicates', () => P(`[:find ?e :where [?e :age ?a] [(identity ?a)]]`));
    add('predicates', () => P(`[:find ?e :where [?e :active ?a] [(${pick(['not', 'identity', 'true?', 'false?'])} ?a)]]`));
    add('predicates', () => P(`[:find ?e :where [?e :name ?n] [(clojure.string/blank? ?n)]]`));
    add('predicates', () => P(`[:find ?a :where [_ :age ?a] [(${pick(['<', '>'])} ?a ${str('30')})]]`));
    // }======

    // {====== builtins (function results) ======
    const ar2 = ['+', '-', '*', '/', 'quot', 'rem', 'mod', 'min', 'max'];
    add('builtins', () => P(`[:find ?e ?r :where [?e :age ?a] [(${pick(ar2)} ?a ${pick(['7', '-7', '2', '3', '10', '2.5', '4'])}) ?r]]`));
    add('builtins', () => P(`[:find ?r :where [?e :age ?a] [?e :salary ?s] [(${pick(ar2)} ?s ?a) ?r]]`));
    add('builtins', () => P(`[:find ?r :where [?e :age ?a] [(${pick(['+', '*', 'min', 'max', '-'])} ?a ${num()} ${num()}) ?r]]`));
    add('builtins', () => P(`[:find ?r :where [?e :age ?a] [(${pick(['+', '*', '-', 'min', 'max'])} ?a) ?r]]`));
    add('builtins', () => P(`[:find ?r :where [(${pick(['+', '*'])}) ?r]]`, []));
    add('builtins', () => P(`[:find ?e ?r :where [?e :age ?a] [(${pick(['inc', 'dec'])} ?a) ?r]]`));
    add('builtins', () => P(`[:find ?e ?r :where [?e :height ?h] [(${pick(['inc', 'dec', '*', '+', 'quot', '/'])} ?h ${pick(['', '2', '0.5'])}) ?r]]`.replace('(inc ?h 2)', '(inc ?h)').replace('(dec ?h 2)', '(dec ?h)').replace(/\((inc|dec) \?h 0\.5\)/, '($1 ?h)')));
    add('builtins', () => P(`[:find ?r :where [(${pick(['quot', 'rem', 'mod'])} ${pick(['7', '-7', '10'])} ${pick(['2', '-2', '3', '-3'])}) ?r]]`, []));
    add('builtins', () => P(`[:find ?r :where [(/ ${pick(['7', '6', '-7', '1'])} ${pick(['2', '3', '4', '0.5'])}) ?r]]`, []));
    add('builtins', () => P(`[:find ?e ?r :where [?e :name ?n] [(str ?n ${pick(['"-"', '?e', '1', ':k', 'nil', '2.5'])}) ?r]]`));
    add('builtins', () => P(`[:find ?r :where [?e :sex ?s] [(str ?s) ?r]]`));
    add('builtins', () => P(`[:find ?r :where [?e :name ?n] [(subs ?n ${pick(['0', '1', '2'])}${pick(['', ' 3', ' 2'])}) ?r]]`));
    add('builtins', () => P(`[:find ?n ?r :where [?e :${pick(['name', 'email', 'last-name'])} ?n] [(count ?n) ?r]]`));
    add('builtins', () => P(`[:find ?r :where [(count ${pick(['[1 2 3]', '"abc"', '{:a 1}', '#{1 2}', 'nil', '[]'])}) ?r]]`, []));
    add('builtins', () => P(`[:find ?r :where [(ground ${pick(['5', '"x"', ':k', '[1 2]', 'nil', '1.5', 'true'])}) ?r]]`, []));
    add('builtins', () => P(`[:find ?e ?r :where [?e :name ?n] [(${pick(['vector', 'list'])} ?n ?e) ?r]]`));
    add('builtins', () => P(`[:find ?r :where [?e :name ?n] [?e :age ?a] [(hash-map :n ?n :a ?a) ?r]]`));
    add('builtins', () => P(`[:find ?r :where [?e :name ?n] [(keyword ?n) ?r]]`));
    add('builtins', () => P(`[:find ?r :where [(keyword ${pick(['"a" "b"', '"x"', '"ns/x"'])}) ?r]]`, []));
    add('builtins', () => P(`[:find ?r :where [_ :${pick(['sex', 'pet/species'])} ?s] [(${pick(['name', 'namespace', 'str'])} ?s) ?r]]`));
    add('builtins', () => P(`[:find ?r :where [(${pick(['name', 'namespace'])} ${pick([':a/b', ':x', '"s"'])}) ?r]]`, []));
    add('builtins', () => P(`[:find ?n ?r :where [_ :name ?n] [(re-find #"${pick(['[aeiou]', '^.', '(.)(.)', 'v+', 'I(v)a'])}" ?n) ?r]]`));
    add('builtins', () => P(`[:find ?n ?r :where [_ :name ?n] [(re-matches #"${pick(['I(.*)', '(.)(.*)', '.*a', 'O.*'])}" ?n) ?r]]`));
    add('builtins', () => P(`[:find ?n ?r :where [_ :name ?n] [(re-seq #"${pick(['[aeiou]', '.', 'an'])}" ?n) ?r]]`));
    add('builtins', () => P(`[:find ?n ?r :where [_ :name ?n] [(re-pattern ${str(pick(['^I', '[aeiou]', 'a$']))}) ?p] [(re-find ?p ?n) ?r]]`));
    add('builtins', () => P(`[:find ?n ?r :where [_ :name ?n] [(clojure.string/${pick(['upper-case', 'lower-case', 'capitalize', 'trim', 'reverse', 'blank?'])} ?n) ?r]]`));
    add('builtins', () => P(`[:find ?n ?r :where [_ :name ?n] [(clojure.string/${pick(['starts-with?', 'ends-with?', 'includes?', 'split', 'index-of', 'last-index-of'])} ?n ${str(pick(['a', 'I', 'v']))}) ?r]]`));
    add('builtins', () => P(`[:find ?r :where [(clojure.string/${pick(['join', 'split', 'replace', 'triml', 'trimr', 'trim-newline'])} ${pick(['"  a b  "', '"," ["a" "b"]', '"a,b" #","', '["x" "y"]'])}) ?r]]`, []));
    add('builtins', () => P(`[:find ?r :where [(clojure.string/replace "a-b-c" ${pick(['"-"', '#"-"'])} ${str(pick(['+', '', '--']))}) ?r]]`, []));
    add('builtins', () => P(`[:find ?e ?t :where [?e :name ?n] [?e :age ?a] [(tuple ?n ?a) ?t]]`));
    add('builtins', () => P(`[:find ?x ?y :where [?e :name ?n] [?e :age ?a] [(tuple ?n ?a) ?t] [(untuple ?t) [?x ?y]]]`));
    add('builtins', () => P(`[:find ?x :where [(untuple [1 2]) [?x ?y]]]`, []));
    add('builtins', () => P(`[:find ?e ?v :where [?e :name] [(get-else $ ?e :${pick(['nick', 'height', 'active', 'salary'])} ${pick(['"none"', '0', ':x'])}) ?v]]`));
    add('builtins', () => P(`[:find ?e ?a ?v :where [?e :name] [(get-some $ ?e ${pick([':nick :name', ':height :age', ':salary', ':zzz :name'])}) [?a ?v]]]`));
    add('builtins', () => P(`[:find ?r :where [(${pick(['vector', 'list', 'hash-map', 'str', 'max', 'min'])} ${pick(['1 2', '"a" "b"', ':a :b', '1'])}) ?r]]`, []));
    add('builtins', () => P(`[:find ?r :where [(${pick(['identity', 'vector', 'list', 'str'])}) ?r]]`, []));
    add('builtins', () => P(`[:find ?r :where [(${pick(['<', '>', '=', 'compare'])} ${pick(['1 2', '"a" "b"', ':a :b', '1 1.0', '1'])}) ?r]]`, []));
    add('builtins', () => P(`[:find ?r :where [(hash ${pick(['1', '"a"'])}) ?h] [(= ?h ?h) ?r]]`, []));
    add('builtins', () => P(`[:find ?r :where [(${pick(['min', 'max'])} ${pick(['"a" "b"', ':b :a', '1 2.5', '3 -1 2'])}) ?r]]`, []));
    add('builtins', () => P(`[:find ?r :where [(${pick(['even?', 'odd?', 'zero?', 'pos?', 'neg?', 'nil?', 'some?', 'true?', 'false?'])} ${pick(['0', '3', '-2', 'nil', 'true', 'false', '1.5'])}) ?r]]`, []));
    // }======

    // {====== fn-bindings ======
    add('fn-bindings', () => P(`[:find ?x :where [(ground ${pick(['[1 2 3]', '["a" "b"]', '[]', '[nil 1]'])}) [?x ...]]]`, []));
    add('fn-bindings', () => P(`[:find ?x ?y :where [(ground ${pick(['[1 2]', '[1 2 3]', '[1]', '[]'])}) [?x ?y]]]`, []));
    add('fn-bindings', () => P(`[:find ?x ?y :where [(ground ${pick(['[[1 2] [3 4]]', '[[1 2] [1 2]]', '[]', '[[1 2 3]]', '[[1]]'])}) [[?x ?y]]]]`, []));
    add('fn-bindings', () => P(`[:find ?x :where [(ground [[1 2] [3 4]]) [[?x _]]]]`, []));
    add('fn-bindings', () => P(`[:find ?e ?x :where [?e :age ?a] [(vector ?a ?e) [?x ...]]]`));
    add('fn-bindings', () => P(`[:find ?e ?x ?y :where [?e :age ?a] [(vector ?a ?e) [?x ?y]]]`));
    add('fn-bindings', () => P(`[:find ?e ?x :where [?e :age ?a] [(vector ?a ?e) [_ ?x]]]`));
    add('fn-bindings', () => P(`[:find ?e :where [?e :age ?a] [(${pick(['inc', 'dec', '+', 'identity'])} ?a) ${pick(['25', '26', '24', '35'])}]]`.replace(/\) (\d+)\]\]$/, ') ?b] [(= ?b $1)]]')));
    add('fn-bindings', () => P(`[:find ?e ?b :where [?e :age ?a] [(inc ?a) ?b] [?f :age ?b]]`));
    add('fn-bindings', () => P(`[:find ?e :where [?e :age ?a] [(inc ?a) ?a]]`));
    add('fn-bindings', () => P(`[:find ?x :where [(re-seq #"[a-z]" ${str(pick(['abc', 'aXb', 'XY']))}) [?x ...]]]`, []));
    add('fn-bindings', () => P(`[:find ?a ?b :where [(re-find #"(\\\\w)(\\\\w)" ${str(pick(['ab', 'xyz', '1']))}) [_ ?a ?b]]]`, []));
    add('fn-bindings', () => P(`[:find ?n ?x :where [_ :name ?n] [(clojure.string/split ?n #"${pick(['a', 'v', 'I'])}") [?x ...]]]`));
    add('fn-bindings', () => P(`[:find ?x :where [(ground ${pick(['nil', '1'])}) [?x ...]]]`, []));
    add('fn-bindings', () => P(`[:find ?e ?v :where [?e :name ?n] [(get-else $ ?e :nick ?n) ?v]]`));
    add('fn-bindings', () => P(`[:find ?k ?v :where [(ground {:a 1 :b 2}) [[?k ?v]]]]`, []));
    add('fn-bindings', () => P(`[:find ?x :where [(ground ${pick(['{:a 1 :b 2}', '{}', '[{:a 1}]'])}) ${pick(['[?x ...]', '[[?x _]]', '[[?x]]'])}]]`, []));
    add('fn-bindings', () => P(`[:find ?x ?y :where [(ground ${pick(['[nil 1]', '[[nil 1]]', '1', '[1 2 3]', '[[1 2] [3]]', '"ab"', '#{1 2}', 'nil'])}) ${pick(['[?x ?y]', '[[?x ?y]]', '[?x ...]'])}]]`.replace('[?x ...]]]', '[?x ...]] [(ground 0) ?y]]'), []));
    // }======

    // {====== find-specs ======
    add('find-specs', () => P(`[:find ?n . :where [?e :name ?n] [?e :age ${age()}]]`));
    add('find-specs', () => P(`[:find [?n ...] :where [?e :name ?n] [?e :age ${pick(['25', '30', '99'])}]]`));
    add('find-specs', () => P(`[:find [?n ?a] :where [?e :name ?n] [?e :age ?a] [?e :email ${V('email')}]]`));
    add('find-specs', () => P(`[:find [?n ?a] :where [?e :name ?n] [?e :age ?a] [(> ?a 100)]]`));
    add('find-specs', () => P(`[:find ?n ?a :keys ${pick(['name age', 'n a', 'x/y b'])} :where [?e :name ?n] [?e :age ?a] [(< ?a ${age()})]]`));
    add('find-specs', () => P(`[:find ?n ?a :${pick(['strs', 'syms'])} n a :where [?e :name ?n] [?e :age ?a] [(< ?a ${age()})]]`));
    add('find-specs', () => P(`{:find [?n] :keys [n] :where [[?e :name ?n]]}`));
    add('find-specs', () => P(`[:find ?n :with ?e :where [?e :name ?n]]`));
    add('find-specs', () => P(`[:find ?a :with ?e :where [?e :age ?a] [(< ?a ${age()})]]`));
    add('find-specs', () => P(`[:find (pull ?e [:name ${pick([':age', ':follows', '{:follows [:name]}', ':db/id', '*'])}]) :where [?e :email ${V('email')}]]`));
    add('find-specs', () => P(`[:find (pull ?e ?p) :in $ ?p :where [?e :age ${age()}]]`, ['$', pick(['[:name]', '[:name :age]', '[:email {:friend [:name]}]'])]));
    add('find-specs', () => P(`[:find ?n (pull ?e [:age]) :where [?e :name ?n] [?e :sex :female]]`));
    add('find-specs', () => P(`[:find (pull ?e [:name]) . :where [?e :email ${V('email')}]]`));
    add('find-specs', () => P(`[:find [(pull ?e [:name]) ...] :where [?e :age ${age()}]]`));
    add('find-specs', () => P(`[:find ?e . :where [?e :age ?a] [(> ?a ${pick(['200', '50', '40'])})]]`));
    add('find-specs', () => P(`[:find [?e ...] :where [?e :pet/species ${pick([':dog', ':cat'])}]]`));
    add('find-specs', () => P(`[:find ?n ?a :keys n a :with ?e :where [?e :name ?n] [?e :age ?a]]`));
    add('find-specs', () => P(`[:find ?e :keys e :where [?e :age ${age()}]]`));
    add('find-specs', () => P(`[:find ?n :where [?e :name ?n] [(> 0 1)]]`));
    add('find-specs', () => P(`[:find [?n ?x] :where [?e :name ?n]]`));
    add('find-specs', () => P(`[:find ?x :where [?e :name ?n]]`));
    add('find-specs', () => P(`[:find ?n ?n :where [?e :name ?n]]`));
    // }======

    // {====== inputs ======
    add('inputs', () => P(`[:find ?e :in $ ?n :where [?e :name ?n]]`, ['$', V('name')]));
    add('inputs', () => P(`[:find ?e :in $ [?n ...] :where [?e :name ?n]]`, ['$', `[${V('name')} ${V('name')}]`]));
    add('inputs', () => P(`[:find ?e :in $ [?n ?a] :where [?e :name ?n] [?e :age ?a]]`, ['$', `[${V('name')} ${age()}]`]));
    add('inputs', () => P(`[:find ?e :in $ [[?n ?a]] :where [?e :name ?n] [?e :age ?a]]`, ['$', `[[${V('name')} ${age()}] [${V('name')} ${age()}] ["Ivan" 25]]`]));
    add('inputs', () => P(`[:find ?e ?a :in $ [[?n ?a]] :where [?e :name ?n]]`, ['$', `[["Ivan" 1] ["Olga" 2] ["Nobody" 3]]`]));
    add('inputs', () => P(`[:find ?x ?y :in [?x ...] [?y ...]]`, [pick(['[1 2]', '[]', '[1 1]']), pick(['[3 4]', '["a"]'])]));
    add('inputs', () => P(`[:find ?y :in ?x :where [(${pick(['inc', 'dec', 'str', 'identity'])} ?x) ?y]]`, [pick(['1', '5', '-1'])]));
    add('inputs', () => P(`[:find ?e :in $ ?e]`, ['$', person()]));
    add('inputs', () => P(`[:find ?n :in $ ?e :where [?e :name ?n]]`, ['$', pick([person(), lookupRef('people')])]));
    add('inputs', () => P(`[:find ?e ?n :in $a $b :where [$a ?e :name ?n] [$b ?e :age ${age()}]]`, ['$', '$']));
    add('inputs', () => P(`[:find ?e ?n :in $ $b :where [?e :name ?n] [$b ?n ?x]]`, ['$', pick(['[["Ivan" 1] ["Olga" 2]]', '[["Petr" :x]]', '[]'])]));
    add('inputs', () => P(`[:find ?x ?y :in $b :where [$b ?x :k ?y]]`, [pick(['[[1 :k 2] [3 :k 4] [5 :j 6]]', '[[1 :k 2]]'])]));
    add('inputs', () => P(`[:find ?e :in $ % :where (r ?e)]`, ['$', `[[(r ?e) [?e :age ${age()}]] [(r ?e) [?e :name ${V('name')}]]]`]));
    add('inputs', () => P(`[:find ?e :in $ _ :where [?e :age ${age()}]]`, ['$', '42']));
    add('inputs', () => P(`[:find ?e :in $ ?a ?b :where [?e :age ?x] [(<= ?a ?x ?b)]]`, ['$', age(), age()]));
    add('inputs', () => P(`[:find ?e :in $ ?n :where [?e :name ?n]]`, ['$']));
    add('inputs', () => P(`[:find ?e :in $ ?n :where [?e :name ?n]]`, ['$', '"Ivan"', '"x"']));
    add('inputs', () => P(`[:find ?e :in $ [?n ...] :where [?e :name ?n]]`, ['$', '[]']));
    add('inputs', () => P(`[:find ?e :in $ ?attr ?v :where [?e ?attr ?v]]`, ['$', pick([':name', ':age', ':sex']), pick(['"Ivan"', '25', ':male'])]));
    add('inputs', () => P(`[:find ?n :in $ [?e ...] :where [?e :name ?n]]`, ['$', `[${person()} ${lookupRef('people')}]`]));
    add('inputs', () => P(`[:find ?v :in $ ?e ?a :where [?e ?a ?v]]`, ['$', person(), pick([':name', ':follows', ':alias'])]));
    add('inputs', () => P(`[:find ?x :in [[?x]]]`, [pick(['[[1] [2] [1]]', '[]', '[[nil]]'])]));
    add('inputs', () => P(`[:find ?e :in $ ?x :where [?e :${pick(['name', 'nick'])}] [(= ?x nil)]]`, ['$', pick(['nil', '1'])]));
    add('inputs', () => P(`[:find ?x ?y :in [?x ...] :where [(str ?x) ?y]]`, [pick(['[nil 1]', '[nil]', '["a" nil]'])]));
    add('inputs', () => P(`[:find ?e ?x :in $ [?x ...] :where [?e :age ?a] [(= ?a ?x)]]`, ['$', `[${age()} nil]`]));
    // }======

    // {====== or-not ======
    add('or-not', () => P(`[:find ?e :where (or [?e :name ${V('name')}] [?e :age ${age()}])]`));
    add('or-not', () => P(`[:find ?e :where [?e :name] (or [?e :sex :female] (and [?e :age ?a] [(> ?a ${age()})]))]`));
    add('or-not', () => P(`[:find ?e :where [?e :name] (not [?e :age ${age()}])]`));
    add('or-not', () => P(`[:find ?e :where [?e :name] (not [?e :age ?a] [(< ?a ${age()})])]`));
    add('or-not', () => P(`[:find ?e :where [?e :name] (not [?e :follows ?f] [?f :name ${V('name')}])]`));
    add('or-not', () => P(`[:find ?e :where [?e :name] (not-join [?e] [?e :follows ?f] [?f :age ${age()}])]`));
    add('or-not', () => P(`[:find ?e :where [?e :name] (or-join [?e] [?e :follows ?f] [?e :friend ?f])]`));
    add('or-not', () => P(`[:find ?e ?x :where [?e :name ?n] (or-join [?e ?x] (and [?e :age ?x] [(> ?x ${age()})]) [?e :salary ?x])]`));
    add('or-not', () => P(`[:find ?e :where [?e :name ?n] (or [(= ?n ${V('name')})] [(= ?n ${V('name')})])]`));
    add('or-not', () => P(`[:find ?e :where [?e :name] (not (or [?e :sex :male] [?e :age ${age()}]))]`));
    add('or-not', () => P(`[:find ?e :where [?e :name] (not (not [?e :nick]))]`));
    add('or-not', () => P(`[:find ?n :where [?e :name ?n] (not [?e :age ${age()}] [?e :sex ${pick([':male', ':female'])}])]`));
    add('or-not', () => P(`[:find ?e :where (or [?e :name ${V('name')}] [?x :age ${age()}])]`));
    add('or-not', () => P(`[:find ?e :where [?e :name] (not [?x :age ${age()}])]`));
    add('or-not', () => P(`[:find ?e :where [?e :name] (not-join [?e ?q] [?e :age ?q])]`));
    add('or-not', () => P(`[:find ?e :where (not [?e :name])]`));
    add('or-not', () => P(`[:find ?e ?f :where [?e :name] [?f :name] (or [?e :follows ?f] [?f :follows ?e]) [(< ?e ?f)]]`));
    add('or-not', () => P(`[:find ?e :where [?e :name ?n] (or-join [?n] [(= ?n ${V('name')})] [(= ?n ${V('name')})])]`));
    add('or-not', () => P(`[:find ?e :in $ ?min :where [?e :age ?a] (not [(< ?a ?min)])]`, ['$', age()]));
    add('or-not', () => P(`[:find ?e :where [?e :name] (or (and [?e :sex :male] [?e :age ${age()}]) (and [?e :sex :female] (not [?e :active true])))]`));
    add('or-not', () => ({ ...P(`[:find ?o :where [?o :order/id] (not-join [?o] [?o :order/lines ?l] [?l :line/qty ?q] [(> ?q ${pick(['1', '2', '3', '5'])})])]`), dataset: 'shop' }));
    add('or-not', () => P(`[:find ?e :where [?e :name] (or [?e :nick] (not [?e :active]))]`));
    add('or-not', () => P(`[:find ?e ?x :where [?e :age ?x] (or-join [[?e] ?y] [?e :friend ?y] [?e :follows ?y])]`));
    add('or-not', () => P(`[:find ?e :where [?e :name ?n] ($ or [?e :age ${age()}] [?e :nick])]`));
    add('or-not', () => P(`[:find ?e :in $ ?n :where [?e :name] (not-join [?e ?n] [?e :name ?n])]`, ['$', V('name')]));
    add('or-not', () => P(`[:find (count ?e) . :where [?e :name] (not [?e :follows ?f] (not [?f :age ${age()}]))]`));
    // }======

    // {====== rules ======
    const anc = '[[(anc ?a ?d) [?d :person/parent ?a]] [(anc ?a ?d) [?x :person/parent ?a] (anc ?x ?d)]]';
    const reach = '[[(reach ?a ?b) [?a :edge/to ?b]] [(reach ?a ?b) [?a :edge/to ?x] (reach ?x ?b)]]';
    const famName = () => V('person/name', 'family');
    add('rules', () => ({ ...P(`[:find ?n :in $ % ?x :where [?a :person/name ?x] (anc ?a ?d) [?d :person/name ?n]]`, ['$', anc, famName()]), dataset: 'family' }));
    add('rules', () => ({ ...P(`[:find ?n :in $ % ?x :where [?d :person/name ?x] (anc ?a ?d) [?a :person/name ?n]]`, ['$', anc, famName()]), dataset: 'family' }));
    add('rules', () => ({ ...P(`[:find (count ?d) . :in $ % :where [?a :person/name ${famName()}] (anc ?a ?d)]`, ['$', anc]), dataset: 'family' }));
    add('rules', () => ({ ...P(`[:find ?l :in $ % :where [?a :node/label ${V('node/label', 'graph')}] (reach ?a ?b) [?b :node/label ?l]]`, ['$', reach]), dataset: 'graph' }));
    add('rules', () => ({ ...P(`[:find ?a ?b :in $ % :where (reach ?a ?b) [(= ?a ?b)]]`, ['$', reach]), dataset: 'graph' }));
    add('rules', () => ({ ...P(`[:find ?a :in $ % :where [?a :node/id] (not (reach ?a ?a))]`, ['$', reach]), dataset: 'graph' }));
    add('rules', () => P(`[:find ?e :in $ % :where (older ?e ${age()})]`, ['$', '[[(older ?e ?n) [?e :age ?a] [(> ?a ?n)]]]']));
    add('rules', () => P(`[:find ?e ?f :in $ % :where (mutual ?e ?f)]`, ['$', '[[(mutual ?a ?b) [?a :follows ?b] [?b :follows ?a]]]']));
    add('rules', () => P(`[:find ?n :in $ % :where (named ?e ?n) (adult ?e)]`, ['$', `[[(named ?e ?n) [?e :name ?n]] [(adult ?e) [?e :age ?a] [(>= ?a ${age()})]]]`]));
    add('rules', () => P(`[:find ?e :in $ % :where [?e :name] (r ?e)]`, ['$', `[[(r [?e]) [?e :age ${age()}]] [(r [?e]) [?e :sex :female]]]`]));
    add('rules', () => P(`[:find ?e :in $ % :where (r ?e)]`, ['$', `[[(r ?e) (q ?e)] [(q ?e) [?e :nick]]]`]));
    add('rules', () => P(`[:find ?e :in $ % :where (undefined-rule ?e)]`, ['$', `[[(r ?e) [?e :nick]]]`]));
    add('rules', () => P(`[:find ?e :in $ % :where (r ?e ?x)]`, ['$', `[[(r ?e) [?e :nick]]]`]));
    add('rules', () => ({ ...P(`[:find ?x ?y :in $ % :where (sib ?x ?y)]`, ['$', '[[(sib ?a ?b) [?a :person/parent ?p] [?b :person/parent ?p] [(not= ?a ?b)]]]']), dataset: 'family' }));
    add('rules', () => ({ ...P(`[:find ?b :in $ % ?s :where [?a :node/id ?s] (reach ?a ?b)]`, ['$', reach, String(pick([1001, 1002, 1005, 1007, 1010, 1011]))]), dataset: 'graph' }));
    add('rules', () => ({ ...P(`[:find ?a :in $ % :where [?a :node/id] (or (reach ?a 6) (reach ?a 8))]`, ['$', reach]), dataset: 'graph' }));
    add('rules', () => ({ ...P(`[:find ?n :in $ % :where (gen ?e ${pick(['0', '1', '2'])}) [?e :person/name ?n]]`, ['$', '[[(gen ?e ?g) [?e :person/name] (not [?e :person/parent]) [(ground 0) ?g]] [(gen ?e ?g) [?e :person/parent ?p] (gen ?p ?pg) [(inc ?pg) ?g]]]']), dataset: 'family' }));
    add('rules', () => P(`[:find ?e :in $ % :where ($ r ?e)]`, ['$', `[[(r ?e) [?e :age ${age()}]]]`]));
    add('rules', () => P(`[:find ?e :in $ % :where (r ?e)]`, ['$', `[[(r ?e) (or [?e :nick] [?e :age ${age()}])]]`]));
    add('rules', () => P(`[:find ?e ?f :in $ % :where (r ?e ?f)]`, ['$', `[[(r ?a ?b) [?a :friend ?b]] [(r ?a ?b) [?b :friend ?a]]]`]));
    add('rules', () => P(`[:find ?n :in $ % :where (r ${pick(['"Ivan"', '"Olga"', '"X"'])} ?n)]`, ['$', `[[(r ?name ?fn) [?e :name ?name] [?e :follows ?f] [?f :name ?fn]]]`]));
    // }======

    // {====== aggregates ======
    const aggs = ['count', 'count-distinct', 'sum', 'avg', 'min', 'max', 'median', 'variance', 'stddev', 'distinct'];
    const numAttr = () => pick(['age', 'salary', 'height']);
    add('aggregates', () => P(`[:find (${pick(aggs)} ?v) :where [_ :${numAttr()} ?v]]`));
    add('aggregates', () => P(`[:find (${pick(aggs)} ?v) :with ?e :where [?e :${numAttr()} ?v]]`));
    add('aggregates', () => P(`[:find ?s (${pick(aggs)} ?v) :where [?e :sex ?s] [?e :${numAttr()} ?v]]`));
    add('aggregates', () => P(`[:find ?s (${pick(aggs)} ?v) :with ?e :where [?e :sex ?s] [?e :${numAttr()} ?v]]`));
    add('aggregates', () => P(`[:find (${pick(['min', 'max'])} ${pick(['1', '2', '3', '20'])} ?v) :where [_ :${numAttr()} ?v]]`));
    add('aggregates', () => P(`[:find ?s (${pick(['min', 'max'])} ${pick(['1', '2', '3'])} ?v) :with ?e :where [?e :sex ?s] [?e :${numAttr()} ?v]]`));
    add('aggregates', () => P(`[:find (${pick(['count', 'count-distinct', 'min', 'max', 'distinct'])} ?n) :where [_ :${pick(['name', 'last-name', 'sex', 'email'])} ?n]]`));
    add('aggregates', () => P(`[:find (${pick(aggs)} ?v) :where [_ :age ?v] [(> ?v 1000)]]`));
    add('aggregates', () => P(`[:find (count ?e) (${pick(aggs)} ?a) :where [?e :age ?a]]`));
    add('aggregates', () => P(`[:find (${pick(aggs)} ?a) . :where [?e :age ?a]]`));
    add('aggregates', () => P(`[:find [(${pick(aggs)} ?a) ...] :where [?e :age ?a]]`));
    add('aggregates', () => P(`[:find [(min ?a) (max ?a)] :where [?e :age ?a]]`));
    add('aggregates', () => P(`[:find ?e (count ?f) :where [?e :follows ?f]]`));
    add('aggregates', () => P(`[:find (${pick(aggs)} ?x) :in [?x ...]]`, [pick(['[1 2 3 4]', '[1 1 2]', '[5]', '[]', '[2.5 1 4]', '[1 2 3 4 5 6]'])]));
    add('aggregates', () => P(`[:find (${pick(aggs)} ?x) :with ?i :in [[?i ?x]]]`, [pick(['[[1 1] [2 1] [3 2] [4 6]]', '[[1 5] [2 5]]', '[[1 3]]'])]));
    add('aggregates', () => P(`[:find ?n (count ?e) :keys n c :where [?e :name ?n]]`));
    add('aggregates', () => P(`[:find (sample ${pick(['1', '5'])} ?x) :where [?e :age ?x] [(= ?x 25)]]`));
    add('aggregates', () => P(`[:find ?d (count ?e) (${pick(aggs)} ?s) :where [?e :dept ?d] [?e :salary ?s]]`) && { ...P(`[:find ?d (count ?e) (${pick(aggs)} ?s) :where [?e :dept ?d] [?e :salary ?s]]`), dataset: 'medium' });
    add('aggregates', () => ({ ...P(`[:find ?c (${pick(aggs)} ?q) :with ?l :where [?o :order/customer ?c] [?o :order/lines ?l] [?l :line/qty ?q]]`), dataset: 'shop' }));
    add('aggregates', () => ({ ...P(`[:find ?cat (${pick(aggs)} ?p) :where [?x :product/category ?cat] [?x :product/price ?p]]`), dataset: 'shop' }));
    add('aggregates', () => P(`[:find (count ?x) (count-distinct ?x) :in [?x ...]]`, ['[1 1 2 nil]']));
    add('aggregates', () => P(`[:find (${pick(['sum', 'avg', 'median'])} ?v) :where [_ :${pick(['name', 'sex'])} ?v]]`));
    add('aggregates', () => P(`[:find (${pick(['min', 'max'])} ?v) :where [_ :${pick(['height', 'age'])} ?v]]`));
    add('aggregates', () => P(`[:find (max ?v) (min ?v) :in [?v ...]]`, [pick(['[1 2.5 "a"]', '[:b :a]', '["b" "a" "c"]', '[1 2.0 3]'])]));
    // }======

    // {====== lookup-refs ======
    add('lookup-refs', () => P(`[:find ?n :where [${lookupRef('people')} :name ?n]]`));
    add('lookup-refs', () => P(`[:find ?e :where [?e :follows ${lookupRef('people')}]]`));
    add('lookup-refs', () => P(`[:find ?e :where [?e :friend ${lookupRef('people')}]]`));
    add('lookup-refs', () => P(`[:find ?n :where [[:email "nobody@x.ru"] :name ?n]]`));
    add('lookup-refs', () => P(`[:find ?e :where [?e :follows [:email "nobody@x.ru"]]]`));
    add('lookup-refs', () => P(`[:find ?n :in $ ?e :where [?e :name ?n]]`, ['$', pick(['[:email "nobody@x.ru"]', lookupRef('people')])]));
    add('lookup-refs', () => P(`[:find ?n :in $ [?e ...] :where [?e :name ?n]]`, ['$', `[${lookupRef('people')} ${lookupRef('people')}]`]));
    add('lookup-refs', () => P(`[:find ?n :where [[:name "Ivan"] :age ?n]]`));
    add('lookup-refs', () => ({ ...P(`[:find ?st :where [${lookupRef('shop')} :order/status ?st]]`), dataset: 'shop' }));
    add('lookup-refs', () => ({ ...P(`[:find ?o :where [?o :order/customer ${pick(['[:customer/email "alice@shop.com"]', '[:customer/email "bob@shop.com"]', '[:customer/email "zed@shop.com"]'])}]]`), dataset: 'shop' }));
    add('lookup-refs', () => ({ ...P(`[:find ?n :where [?e :edge/to [:node/id ${pick(['1002', '1003', '1010', '9999'])}]] [?e :node/label ?n]]`), dataset: 'graph' }));
    add('lookup-refs', () => P(`[:find ?v :where [(ground ${lookupRef('people')}) ?e] [?e :name ?v]]`));
    add('lookup-refs', () => P(`[:find ?e :where [?e :email] [(= ?e ${lookupRef('people')})]]`));
    add('lookup-refs', () => P(`[:find ?x :where [(get-else $ ${lookupRef('people')} :nick "none") ?x]]`));
    add('lookup-refs', () => P(`[:find ?x :where [(missing? $ ${lookupRef('people')} :nick)] [(ground 1) ?x]]`));
    // }======

    // {====== medium ======
    const dept = () => pick([':sales', ':eng', ':hr', ':ops', ':legal']);
    const M = (q, inputs) => ({ ...P(q, inputs), dataset: 'medium' });
    add('medium', () => M(`[:find (count ?e) . :where [?e :dept ${dept()}] [?e :age ?a] [(< ?a ${pick(['30', '40', '50'])})]]`));
    add('medium', () => M(`[:find ?d (avg ?s) (max ?s) :where [?e :dept ?d] [?e :salary ?s]]`));
    add('medium', () => M(`[:find ?n :where [?e :name ?n] [?e :manager ?m] [?m :dept ${dept()}] [?e :dept ${dept()}]]`));
    add('medium', () => M(`[:find (count ?e) . :where [?e :name] (not [?e :salary])]`));
    add('medium', () => M(`[:find ?m (count ?e) :where [?e :manager ?m] [?m :age ${pick(['>', '<'])}] ]`.replace(' [?m :age >] ', ' ').replace(' [?m :age <] ', ' ')));
    add('medium', () => M(`[:find ?e1 ?e2 :where [?e1 :follows ?e2] [?e2 :follows ?e1] [(< ?e1 ?e2)]]`));
    add('medium', () => M(`[:find ?ln (count-distinct ?n) :where [?e :last-name ?ln] [?e :name ?n] [?e :sex ${pick([':male', ':female'])}]]`));
    add('medium', () => M(`[:find (${pick(['median', 'variance', 'stddev', 'sum'])} ?s) . :with ?e :where [?e :salary ?s] [?e :dept ${dept()}]]`));
    add('medium', () => M(`[:find ?n ?a :where [?e :name ?n] [?e :age ?a] [?e :follows ?f] [?f :age ?fa] [(> ?fa ?a ${pick(['50', '60', '80'])})]]`));
    add('medium', () => M(`[:find (count ?f) . :in $ % :where [?e :name ${V('name', 'medium')}] [?e :last-name ${V('last-name', 'medium')}] (fol ?e ?f)]`, ['$', '[[(fol ?a ?b) [?a :follows ?b]] [(fol ?a ?b) [?a :follows ?x] (fol ?x ?b)]]']));
    add('medium', () => M(`[:find ?d (min 2 ?a) (max 2 ?a) :where [?e :dept ?d] [?e :age ?a]]`));
    // }======

    // {====== errors ======
    add('errors', () => P(`[:find ?x :where [?e :name ?n]]`));
    add('errors', () => P(`[:find ?e :where [?e :age ?a] [(> ?b 3)]]`));
    add('errors', () => P(`[:find ?e :where [?e :age ?a] [(${pick(['foo', 'no-such-fn', 'clojure.core/bar'])} ?a)]]`));
    add('errors', () => P(`[:find ?e ?r :where [?e :age ?a] [(${pick(['foo', 'bar/baz'])} ?a) ?r]]`));
    add('errors', () => P(`[:find ?e ?r :where [?e :age ?a] [(${pick(['inc', 'dec', 'zero?', 'subs', 'get-else', 'missing?', 'ground', 'tuple'])}${pick(['', ' ?a ?a ?a', ' ?a'])}) ?r]]`));
    add('errors', () => P(`[:find ?e :where [?e :name] (not [?x :age 1])]`));
    add('errors', () => P(`[:find ?e :where [?e :name] (not-join [?y] [?y :age 1])]`));
    add('errors', () => P(`[:find ?e :where [?e :name ?n] (or-join [?e ?z] [?e :age ?z] [?e :nick ?z])]`));
    add('errors', () => P(`[:find ?e :where [?e :name ?n] (or [?e :age 1] [?f :age 2])]`));
    add('errors', () => P(`[:find ?e :where ${pick(['[?e]', '[]', '[?e :name ?n ?tx ?added ?x]', '(?e :name)', '"x"', '[(?e) ?x]'])}]`));
    add('errors', () => P(`[:find ?e :in $ ?x :where [?e :name ?x]]`, ['$']));
    add('errors', () => P(`[:find ?e :where [?e :name ?x]]`, ['$', '"extra"']));
    add('errors', () => P(`[:find ?e :where [[:email "no@no.no"] :name ?e]]`));
    add('errors', () => P(`[:find ?e :where [?e :${pick(['name', 'age'])} ?v] [(${pick(['+', '-', '<', '>', 'inc', 'quot', 'subs', 'count'])} ?v ${pick(['"a"', ':k', 'nil'])}) ?r]]`));
    add('errors', () => P(`[:find (${pick(['sum', 'avg', 'foo', 'count 1 2'])} ?v) :where [_ :name ?v]]`));
    add('errors', () => P(`[:find ?e :with ?x :where [?e :name]]`));
    add('errors', () => P(`[:find ?e :keys a b :where [?e :name]]`));
    add('errors', () => P(`${pick(['[:find]', '[:where [?e :name]]', '[:find ?e :where]', '{:find [?e]}', '[:find ?e :in :where [?e :name]]', '[:find ?e :where [?e :name] :where [?e :age]]'])}`));
    add('errors', () => P(`[:find ?e :where [(quot ?a 0) ?r] [?e :age ?a]]`));
    add('errors', () => P(`[:find ?r :where [(quot 5 0) ?r]]`, []));
    add('errors', () => P(`[:find ?r :where [(${pick(['/', 'mod', 'rem'])} 5 0) ?r]]`, []));
    add('errors', () => P(`[:find ?e :in $ % :where (r ?e)]`, ['$', '[[(r ?e) [?e :name] (r2 ?e)]]']));
    add('errors', () => P(`[:find ?e :where [?e :name ?n] [(= ?n) ?n]]`));
    add('errors', () => P(`[:find ?v :where [(ground 1) ?v] [(ground 2) ?v]]`, []));
    // }======

    // {====== pull ======
    const pid = () => pick([person(), person(), '20', '21', lookupRef('people'), '999']);
    const pattr = () => pick([':name', ':age', ':alias', ':follows', ':friend', ':pet', ':nick', ':db/id', ':_follows', ':_friend', ':_pet', '*']);
    const PL = (pattern, eid, dataset = 'people') => ({ op: 'pull', query: pattern, inputs: [eid], dataset });
    add('pull', () => PL(`[${pattr()} ${pattr()}]`, pid()));
    add('pull', () => PL(`[${pattr()} ${pattr()} ${pattr()}]`, pid()));
    add('pull', () => PL(`[:name {${pick([':follows', ':friend', ':_follows', ':_friend', ':pet'])} [${pattr()} ${pattr()}]}]`, pid()));
    add('pull', () => PL(`[:name {:follows ${pick(['...', '1', '2', '3'])}}]`, pid()));
    add('pull', () => PL(`[:name {:friend ${pick(['...', '1', '2'])}}]`, pid()));
    add('pull', () => PL(`[:name {:_follows ${pick(['...', '1', '2'])}}]`, pid()));
    add('pull', () => PL(`[[${pick([':name', ':alias', ':follows', ':nick', ':_follows'])} ${pick([':as "x"', ':as :y', ':limit 1', ':limit 0', ':limit nil', ':default "d"', ':default 0', ':as "z" :limit 1'])}]]`, pid()));
    add('pull', () => PL(`[(${pick([':name', ':alias', ':follows', ':nick'])} ${pick([':as "x"', ':limit 1', ':default "d"'])})]`, pid()));
    add('pull', () => PL(`[(${pick(['limit', 'default'])} ${pick([':alias', ':follows', ':nick'])} ${pick(['1', '"d"'])})]`, pid()));
    add('pull', () => PL(`[*]`, pid()));
    add('pull', () => PL(`[* {:follows [:name]}]`, pid()));
    add('pull', () => PL(`[:db/id]`, pid()));
    add('pull', () => PL(`[{:pet [*]}]`, pid()));
    add('pull', () => PL(`[:pet/name :_pet]`, pick(['20', '21', '22', '23'])));
    add('pull', () => PL(`[{:_pet [:name]}]`, pick(['20', '21', '22', '23'])));
    add('pull', () => PL(`${pick(['[*]', '[:order/id {:order/lines [:line/qty {:line/product [:product/name]}]}]', '[{:order/customer [*]}]', '[:order/tags :order/status]', '[:customer/name {:_order/customer [:order/id]}]', '[:product/name :_line/product]', '[:db/id {:_order/lines [:order/id]}]'])}`, pick(['400', '401', '402', '200', '300', '500', '[:order/id "O-2"]', '[:customer/email "bob@shop.com"]', '[:product/sku "SKU-2"]']), 'shop'));
    add('pull', () => PL(`${pick(['[:node/label {:edge/to ...}]', '[:node/label {:edge/to 2}]', '[* {:edge/to 1}]', '[:node/label {:_edge/to ...}]', '[:node/id {:edge/to [:node/id]}]'])}`, pick(['1', '2', '7', '10', '11', '[:node/id 1001]', '[:node/id 1010]']), 'graph'));
    add('pull', () => PL(`${pick(['[:person/name {:person/parent ...}]', '[:person/name {:_person/parent 1}]', '[:person/name {:person/parent 1}]', '[* {:_person/parent [:person/name]}]'])}`, pick(['100', '102', '105', '110', '[:person/name "Seth"]']), 'family'));
    add('pull', () => PL(`${pick(['[:name', '[:name {:follows}]', '[:name {:follows :name}]', '[(:name :foo 1)]', '[[:name :limit -1]]', '[{:follows ...} :name [:alias :limit "x"]]', 'name', '[:name :as "x"]', '[[:name :as]]'])}`, '1'));
    add('pull', () => PL(`[:name]`, pick(['[:email "nobody@x.ru"]', '[:name "Ivan"]', '-1', '"x"', ':name', 'nil'])));
    add('pull', () => PL(`[:name :missing-attr :_missing]`, person()));
    add('pull', () => PL(`[{${pick([':name', ':age'])} [:x]}]`, person()));
    add('pull', () => PL(`[${pick([':db/id', ':db/id :name', '*', ':name'])}]`, pick(['999', '0', '24', '1000'])));
    add('pull', () => PL(`[{${pick([':follows', ':_follows', ':friend', ':_friend'])} [:name {${pick([':follows', ':_follows', ':friend'])} [:name ${pick([':db/id', ':age', '*'])}]}]}]`, pid()));
    add('pull', () => PL(`[:name {${pick([':follows', ':_follows'])} ${pick(['0', '1', '5', '...'])}}]`, pid()));
    add('pull', () => PL(`[${pick(['[:follows :limit 1]', '[:_follows :limit 1]', '[:alias :limit 1]', '[:follows :default 5]', '[:friend :default 7]', '[:_friend :default :none]', '[:db/id :as "id"]', '[* :limit 1]'])} :name]`, pid()));
    add('pull', () => PL(`[{[${pick([':follows', ':_follows', ':friend'])} ${pick([':limit 1', ':as "f"', ':default 0'])}] [:name]}]`, pid()));
    add('pull', () => PL(`[${pick(['"name"', "'name", ':name'])} ${pick(['"age"', ':age'])}]`, person()));
    add('pull', () => PL(`[:pet/name {:_pet [:name {:pet [:pet/name]}]}]`, pick(['20', '21', '23'])));
    add('pull', () => PL(`[* {:pet [:pet/name]}]`, pick(['1', '5', '10', '2'])));
    add('pull', () => PL(`[:order/id {:order/lines [* {:line/product [:product/sku]}]}]`, pick(['400', '401', '403', '405']), 'shop'));
    add('pull', () => PL(`[:node/id {:edge/to ${pick(['1', '2', '3', '...'])}} {:_edge/to ${pick(['1', '...'])}}]`, pick(['2', '3', '11', '10', '6']), 'graph'));
    add('pull', () => ({ ...PL(`[* {:edge/to [:node/label]}]`, `[${pick(['1', '2', '99'])} [:node/id 1010] ${pick(['12', '[:node/id 5555]'])}]`, 'graph'), op: 'pull-many' }));
    add('pull', () => ({ ...PL(`[${pattr()} ${pattr()}]`, `[${pid()} ${pid()} ${pid()}]`), op: 'pull-many' }));
    add('pull', () => ({ ...PL(`[:name {:follows [:name]}]`, `[${person()} 999 ${person()}]`), op: 'pull-many' }));
    add('pull', () => ({ ...PL(`[*]`, `[${pick(['[:email "nobody@x.ru"]', '20', '1'])}]`), op: 'pull-many' }));
    add('pull', () => ({ ...PL(`[:name]`, `[]`), op: 'pull-many' }));
    // }======

    // {====== transactions ======
    const TX = (txs, seed, dataset = 'people') => ({ op: 'tx', txs, seed, dataset });
    const newEmail = () => str(pick(['a@x.ru', 'b@x.ru', 'c@x.ru']));
    add('transactions', () => TX([`[{:db/id ${pick(['-1', '"t"'])} :name "New" :email ${pick([newEmail(), V('email')])} :age ${age()}}]`]));
    add('transactions', () => TX([`[{:db/id -1 :email ${V('email')} :nick "N"} {:db/id -2 :email ${pick([V('email'), newEmail()])} :age 1}]`]));
    add('transactions', () => TX([`[[:db/add ${pick(['"a"', '-1'])} :name "A"] [:db/add ${pick(['"a"', '-1', '"b"'])} :email ${newEmail()}]]`]));
    add('transactions', () => TX([`[[:db/add ${person()} :${pick(['age', 'name', 'sex', 'friend', 'height'])} ${pick(['99', '"Z"', ':other', '3', '1.5'])}]]`]));
    add('transactions', () => TX([`[[:db/add ${person()} :${pick(['age', 'name'])} ${pick(['99', '"Z"'])}] [:db/add ${person()} :${pick(['age', 'name'])} ${pick(['98', '"Y"'])}]]`]));
    add('transactions', () => TX([`[[:db/cas ${person()} :age ${pick(['25', '30', '35', 'nil'])} ${pick(['50', '51'])}]]`]));
    add('transactions', () => TX([`[[:db/cas ${person()} :nick ${pick(['nil', '"Big Ivan"', '"x"'])} "Nick"]]`]));
    add('transactions', () => TX([`[[:db/cas ${lookupRef('people')} :salary ${pick(['50000', '60000', 'nil'])} 1]]`]));
    add('transactions', () => TX([`[[:db/retractEntity ${pick([person(), '20', '21', lookupRef('people'), '999'])}]]`]));
    add('transactions', () => TX([`[[:db.fn/retractEntity ${pick([person(), '20'])}]]`]));
    add('transactions', () => TX([`[[:db/retract ${person()} :${pick(['alias', 'follows', 'name', 'pet', 'age'])}]]`]));
    add('transactions', () => TX([`[[:db/retract ${person()} :${pick(['alias', 'age', 'name'])} ${pick(['"Vanya"', '25', '"Ivan"', '"x"'])}]]`]));
    add('transactions', () => TX([`[[:db.fn/retractAttribute ${person()} :${pick(['alias', 'follows', 'name', 'pet'])}]]`]));
    add('transactions', () => TX([`[{:db/id ${person()} :pet {:pet/name "Tom" :pet/species :cat}}]`]));
    add('transactions', () => TX([`[{:db/id ${person()} :follows [${person()} ${lookupRef('people')}] :alias [${pick(['"A"', '"Vanya"'])} "B"]}]`]));
    add('transactions', () => TX([`[{:db/id ${person()} :follows {:name "Nested" :email ${newEmail()}}}]`]));
    add('transactions', () => TX([`[{:db/id ${pick(['-1', '"x"'])} :name "R" :_follows ${pick([person(), `[${person()} ${person()}]`])}}]`]));
    add('transactions', () => TX([`[{:db/id ${lookupRef('people')} :nick "L"}]`]));
    add('transactions', () => TX([`[{:db/id [:email "nobody@x.ru"] :nick "L"}]`]));
    add('transactions', () => TX([`[{:db/id ${person()} :email ${V('email')}}]`]));
    add('transactions', () => TX([`[{:email ${pick([V('email'), newEmail()])} :nick "U"}]`]));
    add('transactions', () => TX([`[[:db/add -1 :name "X"]]`, `[[:db/add ${pick(['25', '24', '1'])} :nick "Y"]]`]));
    add('transactions', () => TX([`[{:db/id "a" :name "A" :friend "b"} {:db/id "b" :name "B" :friend "a"}]`]));
    add('transactions', () => TX([`[[:db/add ${person()} :follows ${pick(['"t"', '-5'])}] {:db/id ${pick(['"t"', '-5'])} :name "T"}]`]));
    add('transactions', () => TX([`[[:db/add "t" :email ${V('email')}] [:db/add "t" :age 77]]`]));
    add('transactions', () => TX([`[[:db/add ${person()} :friend ${lookupRef('people')}]]`]));
    add('transactions', () => TX([`[[:db/retractEntity ${person()}] [:db/add ${person()} :nick "after"]]`]));
    add('transactions', () => TX([`[{:db/id ${pick(['400', '401', '[:order/id "O-1"]'])} :order/status ${pick([':shipped', ':paid'])}}]`], undefined, 'shop'));
    add('transactions', () => TX([`[[:db/retractEntity ${pick(['400', '401', '[:order/id "O-2"]', '500', '200', '300'])}]]`], undefined, 'shop'));
    add('transactions', () => TX([`[{:db/id 400 :order/lines [{:line/qty 9 :line/product 300}]}]`], undefined, 'shop'));
    add('transactions', () => TX([`[{:db/id -1 :order/id ${pick(['"O-1"', '"O-99"'])} :order/lines [{:line/qty 1}]}]`], undefined, 'shop'));
    add('transactions', () => TX([`[[:db/add -1 :node/id ${pick(['1001', '5000'])}] [:db/add -1 :node/label "L"]]`], undefined, 'graph'));
    add('transactions', () => TX([`[{:db/id -1 :person/name ${pick(['"Adam"', '"Zed"'])} :person/parent [[:person/name "Eve"]]}]`], undefined, 'family'));
    add('transactions', () => TX([`[[:db/add ${person()} :${pick(['age', 'name'])} ${pick(['nil'])}]]`]));
    add('transactions', () => TX([`[[:db/add ${person()} :follows ${pick(['999', '[:email "none@x.ru"]'])}]]`]));
    add('transactions', () => TX([`[{:name "NoId"}]`]));
    add('transactions', () => TX([`[[:db/add "x" :name "X"]]`], `[[:db/add -1 :name "S" :email "s@x.ru"]]`.replace(' :email "s@x.ru"', '')));
    add('transactions', () => TX([`[[:db/add ${person()} :${pick(['alias'])} "Q"] [:db/retract ${person()} :alias "Q"]]`]));
    add('transactions', () => TX([`[[:db/add ${person()} :age 1] [:db/add ${person()} :age 2]]`]));
    add('transactions', () => TX([`[[:db/add -1 :email "same@x.ru"] [:db/add -2 :email "same@x.ru"] [:db/add -2 :name "Two"]]`]));
    add('transactions', () => TX([`[[${pick([':db/retract', ':db.fn/retractAttribute'])} ${pick(['1', '5', '10'])} :pet]]`]));
    add('transactions', () => TX([`[[:db/retract ${pick(['400', '401'])} :order/lines]]`], undefined, 'shop'));
    add('transactions', () => TX([`[{:db/id -1 :db/ident ${pick([':red', ':blue'])}}]`, `[[:db/add ${pick(['1', '2'])} :${pick(['friend', 'nick'])} ${pick([':red', ':blue'])}]]`]));
    add('transactions', () => TX([`[{:db/id -1 :db/ident :red :name "Red"}]`, `[[:db/add :red :age ${age()}]]`, `[[:db/retractEntity :red]]`]));
    add('transactions', () => TX([`[[:db/add ${pick(['-1', '"n"'])} :name "N"] [:db/add ${person()} :friend ${pick(['-1', '"n"'])}]]`]));
    add('transactions', () => TX([`[{:db/id ${person()} :alias ${pick(['"solo"', '["a" "b"]', '#{"x"}'])}}]`]));
    add('transactions', () => TX([`[[:db/cas ${person()} :friend ${pick(['2', '1', 'nil', '[:email "petr@petrov.ru"]'])} ${pick(['3', '[:email "ivan@sidorov.ru"]'])}]]`]));
    // }======

    void ri;
    void idOf;
    void D;
    return T;
};
