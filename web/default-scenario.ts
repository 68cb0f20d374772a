// The scenario the what-if page opens with: a 16 GiB guest on a vDPA NIC, the 2025 series'
// question (pinning at device start, or early) at a size between its two seeds.

export const defaultScenario = `# Edit freely: the plots follow. Units as in scenario files (README "Scenario files").
name: what-if-16g
seed: 1
vm:
  memory: 16GiB
  used: 4GiB
  vcpus: 4
  workload: {kind: uniform, workingSet: 1GiB, rate: 20000, rx: {rate: 50kpps, size: 1500B}}
link: {bandwidth: 25Gbit/s, latency: 0.05ms}
migration: {downtimeLimit: 300ms, maxBandwidth: 0}
probe: {interval: 1ms}
devices:
  - {kind: vdpa, queuePairs: 8, pinning: at-start, tracking: svq}
variants:
  - {name: early, set: {devices.0.pinning: early}}
`;
