// Builds the article from the state the page carries inline (as React/Next apps hydrate).
(function () {
  var state = JSON.parse(document.getElementById("__APP_STATE__").textContent);
  var a = state.article;
  var root = document.getElementById("root");
  var article = document.createElement("article");
  var h1 = document.createElement("h1");
  h1.textContent = a.headline;
  article.appendChild(h1);
  var by = document.createElement("p");
  by.className = "byline";
  by.innerHTML = 'By <span class="author" rel="author">' + a.byline + '</span> <time datetime="' + a.published + '">' + a.published.slice(0, 10) + '</time>';
  article.appendChild(by);
  a.paragraphs.forEach(function (text) {
    var p = document.createElement("p");
    p.textContent = text;
    article.appendChild(p);
  });
  root.appendChild(article);
  document.title = a.headline + " | Harbour Daily";
})();
