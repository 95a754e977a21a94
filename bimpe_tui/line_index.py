"""Where each item of a timeline starts, in lines, for a view that draws only what shows.

A Fenwick tree over the items' heights: the first line of an item, and the
item under a line, each in O(log n); one item's height changed in O(log n);
an item appended in O(log n). A view can then hold 100,000 messages, wrap
only those on screen, and correct a height (an estimate until the item is
wrapped) without touching the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from operator import sub


class LineIndex:
    """Heights of items in order, and the line each starts on."""

    def __init__(self, heights: Sequence[int] = ()) -> None:
        self._heights: list[int] = []
        #: 1-based Fenwick tree: _tree[i] sums the heights of items (i - lowbit(i), i].
        self._tree: list[int] = [0]
        self._total = 0
        self.reset(heights)

    def reset(self, heights: Sequence[int]) -> None:
        """Start again from these heights (O(n), in C: a few ms for 100,000 items)."""
        self._heights = list(heights)
        self._build()

    def reset_uniform(self, count: int, height: int) -> None:
        """Start again from `count` items of `height` lines each (O(n), in C).

        Node i of such a tree is `height` times lowbit(i): no sums to make.
        """
        self._heights = [height] * count
        tree = [0] * (count + 1)
        step = 1
        while step <= count:
            stride = step << 1
            tree[step::stride] = [height * step] * len(range(step, count + 1, stride))
            step = stride
        self._tree = tree
        self._total = height * count

    def replace(self, first: int, heights: Sequence[int]) -> None:
        """New heights for the items from `first` on, as many as given.

        O(k + log n) for k heights: each node of the range takes its items'
        changes and hands them to its parent, as in the linear build; past the
        range there is at most one node a level to pass them on to. (`set` for
        each would cost O(k log n).)
        """
        count = len(heights)
        old = self._heights[first : first + count]
        # Before any change: a run past the last item raises here (strict).
        deltas = [new - was for new, was in zip(heights, old, strict=True)]
        self._heights[first : first + count] = heights
        tree = self._tree
        size = len(tree)
        last = first + count
        beyond: dict[int, int] = {}
        for node in range(first + 1, last + 1):
            delta = deltas[node - first - 1]
            if not delta:
                continue
            tree[node] += delta
            parent = node + (node & -node)
            if parent <= last:
                deltas[parent - first - 1] += delta
            elif parent < size:
                beyond[parent] = beyond.get(parent, 0) + delta
        while beyond:
            node = min(beyond)
            delta = beyond.pop(node)
            tree[node] += delta
            parent = node + (node & -node)
            if parent < size:
                beyond[parent] = beyond.get(parent, 0) + delta
        self._total += sum(heights) - sum(old)

    def _build(self) -> None:
        """The tree from the heights, with no Python step per item.

        Node i sums the items (i - lowbit(i), i], which is the difference of
        two prefix sums; the nodes of one lowbit are every other multiple of it
        (a slice), so one slice assignment a level fills the tree.
        """
        count = len(self._heights)
        prefix = [0, *accumulate(self._heights)]
        tree = [0] * (count + 1)
        step = 1
        while step <= count:
            stride = step << 1
            tree[step::stride] = map(sub, prefix[step::stride], prefix[: count + 1 - step : stride])
            step = stride
        self._tree = tree
        self._total = prefix[-1]

    def __len__(self) -> int:
        return len(self._heights)

    @property
    def total(self) -> int:
        """Lines of all items."""
        return self._total

    def height(self, index: int) -> int:
        """Lines of one item."""
        return self._heights[index]

    def append(self, height: int) -> None:
        """One more item at the end."""
        self._heights.append(height)
        i = len(self._heights)
        # The new node covers (i - lowbit(i), i]: the items before it in that
        # range are already in the tree, as the difference of two prefixes.
        low = i - (i & -i)
        self._tree.append(height + self._prefix(i - 1) - self._prefix(low))
        self._total += height

    def set(self, index: int, height: int) -> None:
        """Change one item's height."""
        delta = height - self._heights[index]
        if not delta:
            return
        self._heights[index] = height
        self._total += delta
        i = index + 1
        tree = self._tree
        size = len(tree)
        while i < size:
            tree[i] += delta
            i += i & -i

    def _prefix(self, count: int) -> int:
        """Lines of the first `count` items."""
        total = 0
        tree = self._tree
        while count > 0:
            total += tree[count]
            count -= count & -count
        return total

    def start(self, index: int) -> int:
        """The line item `index` starts on (`total` for one past the end)."""
        return self._prefix(index)

    def find(self, line: int) -> tuple[int, int]:
        """The item under `line`, and the line's offset inside it (clamped to the items)."""
        count = len(self._heights)
        if count == 0:
            return 0, 0
        if line >= self._total:
            last = count - 1
            return last, self._heights[last] - 1
        line = max(0, line)
        # Binary lifting: the largest position whose prefix is <= line.
        position, remaining = 0, line
        step = 1 << count.bit_length()
        tree = self._tree
        while step:
            nxt = position + step
            if nxt <= count and tree[nxt] <= remaining:
                position = nxt
                remaining -= tree[nxt]
            step >>= 1
        return position, remaining

    def drop_front(self, count: int) -> int:
        """Forget the first `count` items; returns the lines they had."""
        count = min(count, len(self._heights))
        lines = self._prefix(count)
        self.reset(self._heights[count:])
        return lines
