;; Softmax rows in place, for the training loss (`softmax-loss.ts`): per row of a [rows × stride] f32 matrix
;; (stride a multiple of 4; padding and excluded columns hold -inf) x ← x + bias (one f32 per column of the
;; stride: the candidates' biases, added here instead of in a pass of its own over the matrix), the max,
;; x ← exp(x − max), the row's sum, then x ← x · scale_row / sum, added into $columns (one f32 per column of the
;; stride: the column sums, a bias's gradient). Rows' max and sum go to $stats (two f32 per row). exp is
;; vectorised here: V8's Math.exp costs ~10 ns a value, 6 ms of a 512 × 1,280 logits matrix; this loop does the
;; whole row in L1.
(module
  ;; Imported: the module's own memory, or the TF.js wasm backend's heap, where the logits already are.
  (import "env" "memory" (memory 1))

  ;; e^x for x ≤ 0 within 1e-6 relative, inlined in the row loop below (a call per vector costs as much as the
  ;; arithmetic): x = k·ln2 + r (Cody–Waite; k rounded by adding 1.5·2^23), e^r by its Taylor series to r^7
  ;; (|r| ≤ ln2/2), 2^k from the exponent bits. Below −87.3 (float32's smallest normal) the result is 0.
  (func (export "softmax_rows")
    (param $matrix i32) (param $rows i32) (param $stride i32) (param $bias i32) (param $scales i32)
    (param $stats i32) (param $columns i32)
    (local $row i32) (local $p i32) (local $q i32) (local $end i32) (local $c i32) (local $b i32)
    (local $m v128) (local $s v128) (local $e v128) (local $max f32) (local $sum f32)
    (local $x v128) (local $k v128) (local $two v128) (local $r v128) (local $poly v128)
    (local.set $p (local.get $matrix))
    (block $done
      (loop $next_row
        (br_if $done (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $end (i32.add (local.get $p) (i32.shl (local.get $stride) (i32.const 2))))
        ;; x + bias, and the row's max
        (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $q (local.get $p))
        (local.set $b (local.get $bias))
        (block $max_done
          (loop $max_next
            (br_if $max_done (i32.ge_u (local.get $q) (local.get $end)))
            (local.set $x (f32x4.add (v128.load (local.get $q)) (v128.load (local.get $b))))
            (v128.store (local.get $q) (local.get $x))
            (local.set $m (f32x4.max (local.get $m) (local.get $x)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (local.set $b (i32.add (local.get $b) (i32.const 16)))
            (br $max_next)))
        (local.set $max (f32.max
          (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
          (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
        (local.set $m (f32x4.splat (local.get $max)))
        ;; exp(x − max) in place, and its sum
        (local.set $s (v128.const f32x4 0 0 0 0))
        (local.set $q (local.get $p))
        (block $exp_done
          (loop $exp_next
            (br_if $exp_done (i32.ge_u (local.get $q) (local.get $end)))
            (local.set $x (f32x4.sub (v128.load (local.get $q)) (local.get $m)))
            (local.set $k (f32x4.add
              (f32x4.mul (f32x4.max (local.get $x) (v128.const f32x4 -87.3 -87.3 -87.3 -87.3))
                         (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
              (v128.const f32x4 12582912 12582912 12582912 12582912)))
            ;; the low bits of k + 1.5·2^23 are k as an integer: 2^k's exponent bits are (k + 127) << 23
            (local.set $two (i32x4.shl (i32x4.sub (local.get $k) (v128.const i32x4 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81))
                                       (i32.const 23)))
            (local.set $k (f32x4.sub (local.get $k) (v128.const f32x4 12582912 12582912 12582912 12582912)))
            (local.set $r (f32x4.sub
              (f32x4.sub (local.get $x) (f32x4.mul (local.get $k) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
              (f32x4.mul (local.get $k) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
            (local.set $poly (f32x4.add (v128.const f32x4 1.38888889e-3 1.38888889e-3 1.38888889e-3 1.38888889e-3)
              (f32x4.mul (local.get $r) (v128.const f32x4 1.98412698e-4 1.98412698e-4 1.98412698e-4 1.98412698e-4))))
            (local.set $poly (f32x4.add (v128.const f32x4 8.33333333e-3 8.33333333e-3 8.33333333e-3 8.33333333e-3)
              (f32x4.mul (local.get $r) (local.get $poly))))
            (local.set $poly (f32x4.add (v128.const f32x4 4.16666667e-2 4.16666667e-2 4.16666667e-2 4.16666667e-2)
              (f32x4.mul (local.get $r) (local.get $poly))))
            (local.set $poly (f32x4.add (v128.const f32x4 1.66666667e-1 1.66666667e-1 1.66666667e-1 1.66666667e-1)
              (f32x4.mul (local.get $r) (local.get $poly))))
            (local.set $poly (f32x4.add (v128.const f32x4 0.5 0.5 0.5 0.5) (f32x4.mul (local.get $r) (local.get $poly))))
            (local.set $poly (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $r) (local.get $poly))))
            (local.set $poly (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $r) (local.get $poly))))
            (local.set $e (v128.and (f32x4.mul (local.get $poly) (local.get $two))
                                    (f32x4.ge (local.get $x) (v128.const f32x4 -87.3 -87.3 -87.3 -87.3))))
            (v128.store (local.get $q) (local.get $e))
            (local.set $s (f32x4.add (local.get $s) (local.get $e)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $exp_next)))
        (local.set $sum (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $s)) (f32x4.extract_lane 1 (local.get $s)))
          (f32.add (f32x4.extract_lane 2 (local.get $s)) (f32x4.extract_lane 3 (local.get $s)))))
        (f32.store (local.get $stats) (local.get $max))
        (f32.store offset=4 (local.get $stats) (local.get $sum))
        ;; x · scale / sum: the softmax times the row's weight
        (local.set $s (f32x4.splat (f32.div (f32.load (local.get $scales)) (local.get $sum))))
        (local.set $q (local.get $p))
        (local.set $c (local.get $columns))
        (block $scale_done
          (loop $scale_next
            (br_if $scale_done (i32.ge_u (local.get $q) (local.get $end)))
            (local.set $e (f32x4.mul (v128.load (local.get $q)) (local.get $s)))
            (v128.store (local.get $q) (local.get $e))
            (v128.store (local.get $c) (f32x4.add (v128.load (local.get $c)) (local.get $e)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br $scale_next)))
        (local.set $p (local.get $end))
        (local.set $scales (i32.add (local.get $scales) (i32.const 4)))
        (local.set $stats (i32.add (local.get $stats) (i32.const 8)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $next_row))))
)
