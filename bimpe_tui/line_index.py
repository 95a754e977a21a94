"""Where each item of a timeline starts, in lines, for a view that draws only what shows.

A Fenwick tree over the items' heights: the first line of an item, and the
item under a line, each in O(log n); one item's height changed in O(log n);
an item appended in O(log n). A view can then hold 100,000 messages, wrap
only those on screen, and correct a height (an estimate until the item is
wrapped) without touching the others.
"""

from __future__ import annotations

from collections.abc import Sequence


class LineIndex:
    """Heights of items in order, and the line each starts on."""

    def __init__(self, heights: Sequence[int] = ()) -> None:
        self._heights: list[int] = []
        #: 1-based Fenwick tree: _tree[i] sums the heights of items (i - lowbit(i), i].
        self._tree: list[int] = [0]
        self._total = 0
        self.reset(heights)

    def reset(self, heights: Sequence[int]) -> None:
        """Start again from these heights (O(n))."""
        self._heights = list(heights)
        tree = [0, *self._heights]
        size = len(tree)
        # The linear build: each node passes its sum to its parent.
        for i in range(1, size):
            parent = i + (i & -i)
            if parent < size:
                tree[parent] += tree[i]
        self._tree = tree
        self._total = sum(self._heights)

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
