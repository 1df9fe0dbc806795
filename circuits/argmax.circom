pragma circom 2.1.0;
// Index of the largest of n signed values, the first one on ties (ONNX ArgMax, select_last_index 0).
// Every value's gap to the maximum is range-checked, strictly for the values before the winner.
include "circomlib/bitify.circom";

// diffBits: the gap between any two inputs is below 2^diffBits (from the compiler's bounds).
template ArgMax(n, diffBits) {
    signal input in[n];
    signal output index;
    signal output max;

    // circom compares field elements as signed values, so the hint can compare directly
    var best = 0;
    for (var i = 1; i < n; i++) {
        if (in[i] > in[best]) {
            best = i;
        }
    }

    signal selected[n];
    signal picked[n];
    var count = 0;
    var weighted = 0;
    var maxSum = 0;
    for (var i = 0; i < n; i++) {
        selected[i] <-- i == best ? 1 : 0;
        selected[i] * (selected[i] - 1) === 0;
        picked[i] <== selected[i] * in[i];
        count += selected[i];
        weighted += i * selected[i];
        maxSum += picked[i];
    }
    count === 1;
    index <== weighted;
    max <== maxSum;

    component gap[n];
    var after = 0; // 1 when the winner comes after i: then in[i] < max must be strict
    for (var i = n - 1; i >= 0; i--) {
        gap[i] = Num2Bits(diffBits);
        gap[i].in <== max - in[i] - after;
        after += selected[i];
    }
}
