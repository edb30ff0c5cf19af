// A comments widget: a server-rendered page with render = "auto" must never run it.
document.body.setAttribute("data-widget", "loaded");
