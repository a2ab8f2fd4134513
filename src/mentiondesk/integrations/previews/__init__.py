"""Link previews: links in mentions are fetched server-side, safely, so the desk shows each
link's title and domain and agents understand the context without visiting it."""
