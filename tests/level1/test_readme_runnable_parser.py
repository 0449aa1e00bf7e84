"""Which README code the runnable-examples harness picks up (``tests/level2/readme_runnable.py``)."""

from __future__ import annotations

from tests.level2.readme_runnable import runnable_sections

SAMPLE = """
## One

```python run
x = 1
```

```python
not_run = True
```

<!-- run-setup
y = 2
-->

```python run
assert x + y == 3
```

<!-- section:one -->

## Two

<!-- run-setup
hidden_only = True
-->

```python
shown_only = True
```

<!-- section:two -->
"""


def test_runnable_blocks_and_hidden_setup_in_order_per_section():
    assert runnable_sections(SAMPLE) == {"one": ["x = 1\n", "y = 2\n", "assert x + y == 3\n"]}


def test_the_readme_itself_parses():
    sections = runnable_sections()
    assert {"logging", "streaming"} <= set(sections)
    assert all(blocks for blocks in sections.values())
