"""Cross-cutting helpers that know no feature: ids, clocks, cursors, sorting, filters."""
