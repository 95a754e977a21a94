"""The index from timeline items to lines: every operation against a plain list."""

from __future__ import annotations

import random

from bimpe_tui.line_index import LineIndex


def starts(heights: list[int]) -> list[int]:
    out, line = [], 0
    for height in heights:
        out.append(line)
        line += height
    return out


def check(index: LineIndex, heights: list[int]) -> None:
    assert len(index) == len(heights)
    assert index.total == sum(heights)
    first = starts(heights)
    for position, start in enumerate(first):
        assert index.start(position) == start
        for offset in range(heights[position]):
            assert index.find(start + offset) == (position, offset)


def test_append_set_and_drop_agree_with_a_list() -> None:
    rng = random.Random(11)
    heights = [rng.randint(1, 6) for _ in range(37)]
    index = LineIndex(heights)
    check(index, heights)
    for _ in range(60):
        height = rng.randint(1, 9)
        heights.append(height)
        index.append(height)
    check(index, heights)
    for _ in range(80):
        position = rng.randrange(len(heights))
        heights[position] = rng.randint(1, 12)
        index.set(position, heights[position])
    check(index, heights)
    dropped = index.drop_front(25)
    assert dropped == sum(heights[:25])
    check(index, heights[25:])


def test_lines_past_either_end_land_on_the_first_or_last_item() -> None:
    index = LineIndex([2, 3])
    assert index.find(-4) == (0, 0)
    assert index.find(5) == (1, 2)
    assert index.find(500) == (1, 2)
    assert LineIndex().find(0) == (0, 0)


def test_uniform_start_and_replaced_runs_agree_with_a_list() -> None:
    rng = random.Random(7)
    # Sizes around the powers of two, where the tree's levels end.
    for count in (0, 1, 2, 3, 7, 8, 9, 31, 32, 33, 100):
        height = rng.randint(1, 4)
        index = LineIndex()
        index.reset_uniform(count, height)
        heights = [height] * count
        check(index, heights)
        for _ in range(6):
            if not heights:
                break
            first = rng.randrange(len(heights))
            run = [rng.randint(1, 9) for _ in range(rng.randint(0, len(heights) - first))]
            index.replace(first, run)
            heights[first : first + len(run)] = run
            check(index, heights)
        # The tree built anew from the same heights is the same tree.
        assert index._tree == LineIndex(heights)._tree


def test_the_build_in_slices_gives_the_sums_of_one_node_at_a_time() -> None:
    rng = random.Random(3)
    for count in (1, 5, 16, 17, 64, 200):
        heights = [rng.randint(1, 30) for _ in range(count)]
        # The tree as a node at a time would make it: each passes its sum to its parent.
        tree = [0, *heights]
        for node in range(1, len(tree)):
            parent = node + (node & -node)
            if parent < len(tree):
                tree[parent] += tree[node]
        index = LineIndex(heights)
        assert index._tree == tree
        check(index, heights)
