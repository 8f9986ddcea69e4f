"""The sphinx-gallery image scraper of riemannopt's examples (named in ``docs/conf.py``)."""


def figure_scraper(block, block_vars, gallery_conf):
    """Show the figures an example made since the last code block.

    riemannopt's plot functions return :class:`matplotlib.figure.Figure` objects and never touch
    pyplot, so sphinx-gallery's own scraper (which lists pyplot's figures) sees none of them;
    this one finds them among the example's variables instead.
    """
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    seen = block_vars.setdefault("riemannopt_figures", set())
    new = [f for f in block_vars["example_globals"].values() if isinstance(f, Figure) and id(f) not in seen]
    paths = []
    for fig, path in zip(new, block_vars["image_path_iterator"]):
        seen.add(id(fig))
        fig.savefig(path, dpi=110)
        paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])
