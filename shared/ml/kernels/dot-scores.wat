;; Scores of every item row against one user vector: out[i] = items[i] · user.
;; Rows are `width` f32 values, width a multiple of 4 (zero padded), 16-byte
;; aligned. Four f32x4 accumulators hide the add latency so the loop runs at
;; memory speed. `sum` reads the same bytes with the same loop shape and no
;; multiply: the physical lower bound the serving benchmark reports.
(module
  (memory (export "memory") 1)

  (func (export "scores")
    (param $items i32) (param $user i32) (param $n i32) (param $width i32) (param $out i32)
    (local $row i32) (local $end i32) (local $rowBytes i32) (local $p i32) (local $u i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $s v128)
    (local.set $rowBytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $row (local.get $items))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next_item
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (local.set $a0 (v128.const f32x4 0 0 0 0))
        (local.set $a1 (v128.const f32x4 0 0 0 0))
        (local.set $a2 (v128.const f32x4 0 0 0 0))
        (local.set $a3 (v128.const f32x4 0 0 0 0))
        (local.set $p (local.get $row))
        (local.set $u (local.get $user))
        ;; 16 floats per step while at least 16 remain in the row
        (block $tail
          (loop $wide
            (br_if $tail (i32.gt_u (i32.add (local.get $p) (i32.const 64))
                                   (i32.add (local.get $row) (local.get $rowBytes))))
            (local.set $a0 (f32x4.add (local.get $a0)
              (f32x4.mul (v128.load (local.get $p)) (v128.load (local.get $u)))))
            (local.set $a1 (f32x4.add (local.get $a1)
              (f32x4.mul (v128.load offset=16 (local.get $p)) (v128.load offset=16 (local.get $u)))))
            (local.set $a2 (f32x4.add (local.get $a2)
              (f32x4.mul (v128.load offset=32 (local.get $p)) (v128.load offset=32 (local.get $u)))))
            (local.set $a3 (f32x4.add (local.get $a3)
              (f32x4.mul (v128.load offset=48 (local.get $p)) (v128.load offset=48 (local.get $u)))))
            (local.set $p (i32.add (local.get $p) (i32.const 64)))
            (local.set $u (i32.add (local.get $u) (i32.const 64)))
            (br $wide)))
        ;; the remaining 0-3 chunks of 4 floats
        (block $row_done
          (loop $narrow
            (br_if $row_done (i32.ge_u (local.get $p) (i32.add (local.get $row) (local.get $rowBytes))))
            (local.set $a0 (f32x4.add (local.get $a0)
              (f32x4.mul (v128.load (local.get $p)) (v128.load (local.get $u)))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $u (i32.add (local.get $u) (i32.const 16)))
            (br $narrow)))
        (local.set $s (f32x4.add (f32x4.add (local.get $a0) (local.get $a1))
                                 (f32x4.add (local.get $a2) (local.get $a3))))
        (f32.store (local.get $out)
          (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s)) (f32x4.extract_lane 1 (local.get $s)))
                   (f32.add (f32x4.extract_lane 2 (local.get $s)) (f32x4.extract_lane 3 (local.get $s)))))
        (local.set $row (local.get $p))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $next_item))))

  (func (export "sum") (param $from i32) (param $bytes i32) (result f32)
    (local $p i32) (local $end i32) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $p (local.get $from))
    (local.set $end (i32.add (local.get $from) (i32.and (local.get $bytes) (i32.const -64))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $a0 (f32x4.add (local.get $a0) (v128.load (local.get $p))))
        (local.set $a1 (f32x4.add (local.get $a1) (v128.load offset=16 (local.get $p))))
        (local.set $a2 (f32x4.add (local.get $a2) (v128.load offset=32 (local.get $p))))
        (local.set $a3 (f32x4.add (local.get $a3) (v128.load offset=48 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $next)))
    (local.set $a0 (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3))))
    (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
             (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
)
