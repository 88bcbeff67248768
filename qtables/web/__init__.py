"""The office page (``qtables serve``): Starlette routes over the library (``app``), who may do what (``auth``),
Jinja2 templates and one stylesheet shipped in the wheel.  Imports every stage the CLI does; nothing imports it
but the CLI."""
