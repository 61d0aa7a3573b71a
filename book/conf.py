"""Sphinx configuration of the course's book (built by book/build.py; see DEVELOPERS.md).

Sphinx + MyST-NB + the Sphinx Book Theme, what Jupyter Book 1 is made of: it builds offline,
its HTML works opened from disk (``file://``) as well as served, and it has search and the
Colab/Binder launch buttons built in.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import config  # noqa: E402

project = "loss-course"
author = "the loss-course authors"
copyright = "loss-course authors, MIT licence"
root_doc = "index"
# MathJax from the package, not a CDN: the math renders offline and from file:// too.
extensions = ["myst_nb", "sphinx-mathjax-offline"]
exclude_patterns = ["**.ipynb_checkpoints", "docs/cluster/**"]

# Lessons are executed by book/build.py (once, cached); Sphinx only renders their outputs.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "html_image"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = "loss-course: how loss functions shape learning"
html_baseurl = config.site_url()
html_copy_source = True  # the download button offers the executed notebook
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": config.repository(),
    "repository_branch": config.BRANCH,
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
    "home_page_in_toc": True,
    "show_toc_level": 2,
}
# Without it the theme logs "Got invalid theme mode" in a browser with no saved preference.
html_context = {"default_mode": "auto"}
