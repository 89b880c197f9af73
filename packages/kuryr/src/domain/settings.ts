/** The driver settings the domain services need, derived from kuryr.conf by the composition root. */
export interface DriverSettings {
  /** binding:host_id for ports bound on this host (the OVN chassis / agent host name). */
  readonly hostId: string;
  /** Bind ports to hostId (veth); nested drivers leave them unbound (the VM port carries the traffic). */
  readonly bindHost: boolean;
  /** `[DEFAULT] subnetpool_name_prefix` (Kuryr: kuryrPool). */
  readonly subnetpoolNamePrefix: string;
  /** `[neutron] enable_dhcp` for subnets kuryr creates. */
  readonly enableDhcp: boolean;
  /** `[neutron] default_subnetpool_v4/_v6`: pools used without --subnet, never deleted. */
  readonly defaultSubnetpoolV4: string;
  readonly defaultSubnetpoolV6: string;
  /** `[binding] veth_dst_prefix`: Join's DstPrefix. */
  readonly vethDstPrefix: string;
  /** `[neutron] vif_plugging_is_fatal`: wait for the port to be ACTIVE in CreateEndpoint. */
  readonly vifPluggingIsFatal: boolean;
  /** `[neutron] vif_plugging_timeout` in seconds (bounded: 0 means the default of 60). */
  readonly vifPluggingTimeoutS: number;
  readonly localDefaultAddressSpace: string;
  readonly globalDefaultAddressSpace: string;
  readonly capabilityScope: 'local' | 'global';
  /** `[DEFAULT] process_external_connectivity`: `--expose` becomes a security group. */
  readonly processExternalConnectivity: boolean;
  /**
   * `[DEFAULT] ip_range_as_allocation_pool` (default false: Kuryr's footprint, the
   * `--ip-range` is the Docker pool and the Neutron subnet). True: the subnet is
   * `--subnet` and the range its `allocation_pools` (Docker's own meaning).
   */
  readonly ipRangeAsAllocationPool?: boolean;
  /**
   * `[DEFAULT] delete_ports_after_reply` (default false: ReleaseAddress answers
   * once Neutron has deleted the port, as Kuryr). True: it answers first and
   * the DELETE follows (PortDeletions).
   */
  readonly deletePortsAfterReply?: boolean;
}

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Runs work detached from the Docker request that started it (its Neutron calls are not that request's). */
export type Background = (work: () => Promise<void>) => void;
