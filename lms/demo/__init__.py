"""The demo bureau: the fictional 龙城供电局 with its units and people, built by ``lms demo``.

``build_demo(session, seed=1, employees=1800)`` builds it (the same seed, the same bureau);
``has_data`` and ``reset_data`` let the command refuse to mix it with existing data, or replace
that data. Every demo sign-in uses the password :data:`DEMO_PASSWORD`.
"""

from lms.demo.build import DEMO_PASSWORD, DemoLogin, build_demo, has_data, plan, reset_data

__all__ = ["DEMO_PASSWORD", "DemoLogin", "build_demo", "has_data", "plan", "reset_data"]
