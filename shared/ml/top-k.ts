/**
 * Indices of the k largest scores, best first, by partial selection with a
 * small binary min-heap (O(n log k)) — no full sort of the catalogue.
 * -Infinity scores (excluded items) are never returned.
 */
export function topKIndices(scores: ArrayLike<number>, k: number): Int32Array {
  const heapIndex = new Int32Array(k);
  const heapScore = new Float64Array(k);
  let size = 0;
  const siftDown = (start: number) => {
    let parent = start;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < size && (heapScore[left] as number) < (heapScore[smallest] as number)) smallest = left;
      if (right < size && (heapScore[right] as number) < (heapScore[smallest] as number)) smallest = right;
      if (smallest === parent) return;
      const score = heapScore[parent] as number;
      const index = heapIndex[parent] as number;
      heapScore[parent] = heapScore[smallest] as number;
      heapIndex[parent] = heapIndex[smallest] as number;
      heapScore[smallest] = score;
      heapIndex[smallest] = index;
      parent = smallest;
    }
  };
  for (let index = 0; index < scores.length; index++) {
    const score = scores[index] as number;
    if (score === Number.NEGATIVE_INFINITY || Number.isNaN(score)) continue;
    if (size < k) {
      // Insert and sift up.
      let child = size++;
      heapScore[child] = score;
      heapIndex[child] = index;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        if ((heapScore[parent] as number) <= (heapScore[child] as number)) break;
        [heapScore[parent], heapScore[child]] = [heapScore[child] as number, heapScore[parent] as number];
        [heapIndex[parent], heapIndex[child]] = [heapIndex[child] as number, heapIndex[parent] as number];
        child = parent;
      }
    } else if (score > (heapScore[0] as number)) {
      heapScore[0] = score;
      heapIndex[0] = index;
      siftDown(0);
    }
  }
  const order = Array.from({ length: size }, (_, position) => position).sort(
    (a, b) =>
      (heapScore[b] as number) - (heapScore[a] as number) ||
      (heapIndex[a] as number) - (heapIndex[b] as number),
  );
  return Int32Array.from(order.map((position) => heapIndex[position] as number));
}
