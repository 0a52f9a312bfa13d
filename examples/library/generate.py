#!/usr/bin/env python3
"""Writes the sample library catalogue (schema.edn, data.edn) of examples/.

Deterministic: the same files every run.  Real authors and books head the
catalogue; the rest are made up from word lists.  Usage:
    python3 examples/library/generate.py examples/library
"""
import random
import sys

R = random.Random(1954)
out = sys.argv[1] if len(sys.argv) > 1 else "."

SCHEMA = """{:author/name    {:db/valueType :db.type/string :db/unique :db.unique/identity
                  :db/doc "Full name"}
 :author/born    {:db/valueType :db.type/long :db/doc "Year of birth"}
 :author/country {:db/valueType :db.type/string}
 :book/isbn      {:db/valueType :db.type/string :db/unique :db.unique/identity}
 :book/title     {:db/valueType :db.type/string}
 :book/year      {:db/valueType :db.type/long}
 :book/pages     {:db/valueType :db.type/long}
 :book/author    {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
 :book/genre     {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}
 :book/copies    {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many
                  :db/isComponent true :db/doc "The library's copies of the book"}
 :copy/barcode   {:db/valueType :db.type/string :db/unique :db.unique/identity}
 :copy/branch    {:db/valueType :db.type/ref}
 :copy/condition {:db/valueType :db.type/keyword}
 :branch/name    {:db/valueType :db.type/string :db/unique :db.unique/identity}
 :branch/city    {:db/valueType :db.type/string}
 :member/email   {:db/valueType :db.type/string :db/unique :db.unique/identity}
 :member/name    {:db/valueType :db.type/string}
 :member/joined  {:db/valueType :db.type/instant}
 :loan/copy      {:db/valueType :db.type/ref}
 :loan/member    {:db/valueType :db.type/ref}
 :loan/due       {:db/valueType :db.type/instant}
 :loan/returned  {:db/valueType :db.type/boolean}}
"""

REAL = [
    ("Jane Austen", 1775, "United Kingdom", [("Pride and Prejudice", 1813, ["novel", "romance"]),
                                             ("Emma", 1815, ["novel", "romance"]),
                                             ("Persuasion", 1817, ["novel", "romance"])]),
    ("Charles Dickens", 1812, "United Kingdom", [("Great Expectations", 1861, ["novel"]),
                                                 ("Bleak House", 1853, ["novel"]),
                                                 ("A Tale of Two Cities", 1859, ["novel", "history"])]),
    ("Leo Tolstoy", 1828, "Russia", [("War and Peace", 1869, ["novel", "history"]),
                                     ("Anna Karenina", 1878, ["novel", "romance"])]),
    ("Fyodor Dostoevsky", 1821, "Russia", [("Crime and Punishment", 1866, ["novel", "crime"]),
                                           ("The Brothers Karamazov", 1880, ["novel", "philosophy"])]),
    ("Mary Shelley", 1797, "United Kingdom", [("Frankenstein", 1818, ["novel", "horror", "science-fiction"])]),
    ("Herman Melville", 1819, "United States", [("Moby-Dick", 1851, ["novel", "adventure"])]),
    ("Mark Twain", 1835, "United States", [("Adventures of Huckleberry Finn", 1884, ["novel", "adventure"]),
                                           ("The Adventures of Tom Sawyer", 1876, ["novel", "adventure", "children"])]),
    ("H. G. Wells", 1866, "United Kingdom", [("The Time Machine", 1895, ["science-fiction"]),
                                             ("The War of the Worlds", 1898, ["science-fiction"])]),
    ("Jules Verne", 1828, "France", [("Twenty Thousand Leagues Under the Seas", 1870, ["adventure", "science-fiction"]),
                                     ("Around the World in Eighty Days", 1872, ["adventure"])]),
    ("Victor Hugo", 1802, "France", [("Les Miserables", 1862, ["novel", "history"])]),
    ("Arthur Conan Doyle", 1859, "United Kingdom", [("A Study in Scarlet", 1887, ["crime", "mystery"]),
                                                    ("The Hound of the Baskervilles", 1902, ["crime", "mystery"])]),
    ("Louisa May Alcott", 1832, "United States", [("Little Women", 1868, ["novel", "children"])]),
    ("Emily Bronte", 1818, "United Kingdom", [("Wuthering Heights", 1847, ["novel", "romance"])]),
    ("Charlotte Bronte", 1816, "United Kingdom", [("Jane Eyre", 1847, ["novel", "romance"])]),
    ("Lewis Carroll", 1832, "United Kingdom", [("Alice's Adventures in Wonderland", 1865, ["children", "fantasy"])]),
    ("Bram Stoker", 1847, "Ireland", [("Dracula", 1897, ["horror", "novel"])]),
    ("Oscar Wilde", 1854, "Ireland", [("The Picture of Dorian Gray", 1890, ["novel", "philosophy"])]),
    ("Miguel de Cervantes", 1547, "Spain", [("Don Quixote", 1605, ["novel", "adventure"])]),
    ("Homer", -750, "Greece", [("The Odyssey", -700, ["poetry", "adventure"]),
                               ("The Iliad", -750, ["poetry", "history"])]),
    ("Dante Alighieri", 1265, "Italy", [("The Divine Comedy", 1320, ["poetry", "philosophy"])]),
]

FIRST = ["Ada", "Bruno", "Clara", "Dmitri", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas",
         "Karin", "Luca", "Mira", "Nils", "Olga", "Pavel", "Rosa", "Sven", "Tara", "Umberto",
         "Vera", "Walter", "Yara", "Zeno"]
LAST = ["Almeida", "Berg", "Castell", "Duval", "Eriksen", "Ferrante", "Gallo", "Horvat", "Ivanova",
        "Jansen", "Kovacs", "Lindqvist", "Moreau", "Novak", "Oliveira", "Petrov", "Quist", "Rossi",
        "Schmidt", "Tanaka", "Ulrich", "Varga", "Weber", "Zielinski"]
COUNTRIES = ["Sweden", "Italy", "Portugal", "Germany", "Hungary", "Japan", "Poland", "Norway",
             "Brazil", "Croatia", "France", "Czechia"]
ADJ = ["Silent", "Hidden", "Last", "Northern", "Burning", "Forgotten", "Glass", "Winter", "Iron",
       "Quiet", "Distant", "Golden", "Broken", "Secret", "Endless", "Crimson"]
NOUN = ["River", "Garden", "Harbour", "Mountain", "Letter", "Orchard", "Lighthouse", "Station",
        "Archive", "Forest", "Kingdom", "Bridge", "Island", "Library", "Clockmaker", "Map"]
GENRES = ["novel", "crime", "mystery", "science-fiction", "fantasy", "history", "poetry",
          "children", "romance", "philosophy", "adventure", "horror", "biography"]
BRANCHES = [("Central", "Lisbon"), ("Riverside", "Lisbon"), ("Old Town", "Porto"),
            ("Harbour", "Porto"), ("University", "Coimbra")]
CONDITIONS = ["new", "good", "good", "good", "worn", "worn", "damaged"]


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


forms = []
for name, city in BRANCHES:
    forms.append('{:db/id %s :branch/name %s :branch/city %s}' % (q("branch:" + name), q(name), q(city)))

authors = []  # (tempid, name)
books = []    # (title, year, genres, [author tempids])
for name, born, country, works in REAL:
    tid = "author:" + name
    authors.append(tid)
    forms.append('{:db/id %s :author/name %s :author/born %d :author/country %s}' % (q(tid), q(name), born, q(country)))
    for title, year, genres in works:
        books.append((title, year, genres, [tid]))

used = set(a for a in authors)
while len(authors) < 70:
    name = R.choice(FIRST) + " " + R.choice(LAST)
    tid = "author:" + name
    if tid in used:
        continue
    used.add(tid)
    authors.append(tid)
    born = R.randint(1890, 1995)
    forms.append('{:db/id %s :author/name %s :author/born %d :author/country %s}' % (q(tid), q(name), born, q(R.choice(COUNTRIES))))

made = authors[len(REAL):]
titles = set(b[0] for b in books)
while len(books) < 320:
    title = "The %s %s" % (R.choice(ADJ), R.choice(NOUN))
    if R.random() < 0.4:
        title += " of " + R.choice(["Ash", "Salt", "Stone", "Rain", "Lisbon", "Prague", "Dreams", "Bones"])
    if title in titles:
        continue
    titles.add(title)
    k = 1 if R.random() < 0.85 else 2
    auths = R.sample(made, k)
    genres = sorted(set(R.sample(GENRES, R.choice([1, 1, 2, 2, 3]))))
    books.append((title, R.randint(1925, 2024), genres, auths))

barcode = 100000
copies = []
for i, (title, year, genres, auths) in enumerate(books):
    isbn = "978-%d-%04d-%03d-%d" % (R.randint(0, 9), R.randint(0, 9999), i, R.randint(0, 9))
    ncopies = R.choice([0, 1, 1, 2, 2, 2, 3, 3, 4])
    cps = []
    for _ in range(ncopies):
        barcode += 1
        bc = "C%d" % barcode
        copies.append(bc)
        cps.append('{:copy/barcode %s :copy/branch %s :copy/condition :%s}' % (
            q(bc), q("branch:" + R.choice(BRANCHES)[0]), R.choice(CONDITIONS)))
    parts = ['{:db/id %s' % q("book:" + isbn),
             ':book/isbn %s' % q(isbn),
             ':book/title %s' % q(title),
             ':book/year %d' % year,
             ':book/pages %d' % R.randint(90, 1200),
             ':book/author [%s]' % " ".join(q(a) for a in auths),
             ':book/genre [%s]' % " ".join(":" + g for g in genres)]
    if cps:
        parts.append(':book/copies [%s]' % "\n               ".join(cps))
    forms.append("\n ".join(parts) + "}")

members = []
for i in range(120):
    name = R.choice(FIRST) + " " + R.choice(LAST)
    email = "%s.%d@example.org" % (name.lower().replace(" ", "."), i)
    tid = "member:" + email
    members.append(tid)
    forms.append('{:db/id %s :member/email %s :member/name %s :member/joined #inst "%04d-%02d-%02dT10:00:00.000-00:00"}' % (
        q(tid), q(email), q(name), R.randint(2015, 2024), R.randint(1, 12), R.randint(1, 28)))

for i in range(450):
    bc = R.choice(copies)
    forms.append('{:loan/copy [:copy/barcode %s] :loan/member %s :loan/due #inst "2025-%02d-%02dT00:00:00.000-00:00" :loan/returned %s}' % (
        q(bc), q(R.choice(members)), R.randint(1, 12), R.randint(1, 28), "true" if R.random() < 0.7 else "false"))

with open(out + "/schema.edn", "w") as f:
    f.write(";; The sample library catalogue's schema (examples/library/generate.py).\n")
    f.write(SCHEMA)
with open(out + "/data.edn", "w") as f:
    f.write(";; The sample library catalogue: branches, authors, books with their copies\n")
    f.write(";; (components), members and loans (examples/library/generate.py).\n[")
    f.write("\n ".join(forms))
    f.write("]\n")
