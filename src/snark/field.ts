/** The BN254 scalar field: snarkjs's bn128 curve, and circom's default prime; public signals live in it. */
export const FIELD_PRIME = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** BN254's base field: the coordinates of a proof's points. */
export const BASE_FIELD_PRIME = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
