// The search page: Pagefind's index of each publication month (search/YYYY-MM/), merged in the
// browser. Results are shown as text only: nothing from an article becomes markup here.
const script = document.getElementById("search-script");
const months = (script.dataset.months || "").split(" ").filter(Boolean);
const form = document.getElementById("search");
const input = document.getElementById("q");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");
let loading = null;

function pagefind() {
  loading ??= (async () => {
    if (!months.length) return null;
    const folder = (month) => new URL(`search/${month}/`, document.baseURI).pathname;
    const found = await import(`${folder(months[0])}pagefind.js`);
    await found.options({ basePath: folder(months[0]), excerptLength: 24 });
    for (const month of months.slice(1)) await found.mergeIndex(folder(month));
    return found;
  })();
  return loading;
}

function plain(markup) {
  // An excerpt comes as HTML; parsed inertly (no script runs, nothing loads) and read as text.
  return new DOMParser().parseFromString(markup, "text/html").body.textContent || "";
}

function link(url) {
  // Result URLs are rooted at the index ("/articles/x.html"); the site may live below a prefix.
  return new URL(url.replace(/^\/+/, ""), document.baseURI).href;
}

async function run(query) {
  list.replaceChildren();
  if (!query.trim()) return;
  status.textContent = "Suche läuft …";
  const index = await pagefind();
  if (!index) { status.textContent = "Noch nichts archiviert."; return; }
  const found = await index.search(query);
  const shown = await Promise.all(found.results.slice(0, 50).map((r) => r.data()));
  status.textContent = `${found.results.length} Treffer für „${query}“`;
  for (const hit of shown) {
    const item = document.createElement("li");
    const anchor = document.createElement("a");
    anchor.href = link(hit.url);
    anchor.textContent = (hit.meta && hit.meta.title) || hit.url;
    const excerpt = document.createElement("p");
    excerpt.textContent = plain(hit.excerpt || "");
    item.append(anchor, excerpt);
    list.append(item);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  history.replaceState(null, "", `?q=${encodeURIComponent(input.value)}`);
  run(input.value).catch((error) => { status.textContent = `Suche fehlgeschlagen: ${error}`; });
});
const asked = new URLSearchParams(location.search).get("q");
if (asked) {
  input.value = asked;
  run(asked).catch((error) => { status.textContent = `Suche fehlgeschlagen: ${error}`; });
}
