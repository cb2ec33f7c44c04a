"""The ``vpt`` command line. Thin: each sub-command parses, calls the packages, shows progress.

Each area registers its own sub-application from its own module (``vpt.cli.data`` and so on),
so that adding a command never means editing someone else's code.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="vpt",
    help="Video PreTraining for Minecraft: data, IDM, BC, RL, simulator, submissions.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

from vpt.cli import bench as _bench  # noqa: E402

app.command(name="bench", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    _bench.run
)

from vpt.cli import data as _data  # noqa: E402

app.add_typer(_data.app, name="data")


from vpt.cli import agent as _agent  # noqa: E402

app.add_typer(_agent.app, name="agent")


from vpt.cli import submission as _submission  # noqa: E402

app.add_typer(_submission.app, name="submission")


from vpt.cli import idm as _idm  # noqa: E402

app.add_typer(_idm.app, name="idm")

from vpt.cli import play as _play  # noqa: E402

app.command(name="play")(_play.play)

from vpt.cli import bc as _bc  # noqa: E402

app.add_typer(_bc.app, name="bc")

from vpt.cli import rl as _rl  # noqa: E402

app.add_typer(_rl.app, name="rl")

from vpt.cli import eval as _eval  # noqa: E402
from vpt.cli import info as _info  # noqa: E402

app.command(name="info")(_info.info)

app.command(name="eval")(_eval.eval_command)

from vpt.cli import pipeline as _pipeline  # noqa: E402

app.command(name="pipeline")(_pipeline.pipeline_command)
