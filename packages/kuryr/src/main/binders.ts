/**
 * Builds the binding-driver registry from kuryr.conf, checking the
 * combination the way Kuryr documents it (the default driver must be
 * enabled; ipvlan is refused; nested needs macvlan, vlan needs vlan) — and,
 * unlike Kuryr (bug C1), actually honouring it.
 */
import type { Exec } from '../adapters/linux/exec.js';
import { IpLinkOps } from '../adapters/linux/link-ops.js';
import { IpNetnsOps } from '../adapters/linux/netns-ops.js';
import { VsctlOvsOps } from '../adapters/linux/ovs-ops.js';
import { LinuxBridgePlug, OvsHybridPlug, OvsPlug, TapPlug } from '../binding/host-plugs.js';
import { MacvlanBinder } from '../binding/macvlan-binder.js';
import { BinderRegistry, type PortDriver } from '../binding/registry.js';
import { VethBinder } from '../binding/veth-binder.js';
import { VlanBinder } from '../binding/vlan-binder.js';
import { VmPort } from '../binding/vm-port.js';
import type { KuryrConfig } from '../config/kuryr-config.js';
import { ConfigError } from '@kuryr-ts/openstack/errors';
import type { UndoFailureReporter } from '@kuryr-ts/openstack/lib/undo';
import type { LinkOps, OvsOps } from '../ports/host-net.js';
import type { NetnsOps } from '../ports/netns.js';
import type { NeutronApi } from '@kuryr-ts/openstack/neutron/types';

const shortName = (module: string): string => module.split('.').pop() ?? module;

export function portDriverOf(config: KuryrConfig): PortDriver {
  const wanted = shortName(config.defaultPortDriver);
  const enabled = config.enabledPortDrivers.map(shortName);
  if (!enabled.includes(wanted)) {
    throw new ConfigError(`[DEFAULT] default_port_driver ${config.defaultPortDriver} is not in enabled_port_drivers (${config.enabledPortDrivers.join(', ')})`);
  }
  if (wanted === 'sriov') throw new ConfigError('[DEFAULT] default_port_driver sriov: SR-IOV is not supported by kuryr-ts');
  if (wanted !== 'veth' && wanted !== 'nested' && wanted !== 'vlan') {
    throw new ConfigError(`[DEFAULT] default_port_driver ${config.defaultPortDriver}: unknown (veth, nested or vlan)`);
  }
  const binding = shortName(config.binding.defaultDriver);
  const enabledBindings = config.binding.enabledDrivers.map(shortName);
  if (enabledBindings.includes('ipvlan') || binding === 'ipvlan') throw new ConfigError('[binding] ipvlan is not allowed (as in Kuryr-libnetwork)');
  if (!enabledBindings.includes(binding)) {
    throw new ConfigError(`[binding] default_driver ${config.binding.defaultDriver} is not in enabled_drivers (${config.binding.enabledDrivers.join(', ')})`);
  }
  const needs: Record<PortDriver, string> = { veth: 'veth', nested: 'macvlan', vlan: 'vlan' };
  if (binding !== needs[wanted]) {
    throw new ConfigError(`port driver ${wanted} needs [binding] default_driver kuryr.lib.binding.drivers.${needs[wanted]}, not ${config.binding.defaultDriver}`);
  }
  return wanted;
}

export interface HostAdapters {
  links: LinkOps;
  ovs: OvsOps;
  /** Containers' network namespaces (CNI attachments); without it the daemon serves no CNI routes. */
  netns?: NetnsOps | undefined;
}

export function hostAdapters(exec: Exec): HostAdapters {
  return { links: new IpLinkOps(exec), ovs: new VsctlOvsOps(exec), netns: new IpNetnsOps(exec) };
}

/** The binding part of kuryr.conf: which drivers plug ports, on which bridge or VM interface. */
export interface BindingChoice {
  /** `[DEFAULT] default_port_driver`, checked (portDriverOf). */
  portDriver: PortDriver;
  /** `[binding] integration_bridge`: where ovs and hybrid plugging put ports. */
  integrationBridge: string;
  /** `[binding] link_iface`: the VM interface nested drivers plug containers into. */
  linkIface: string;
  /** kuryr-ts `[binding] force_vif_type`: plug as this vif_type whatever Neutron says. */
  forceVifType?: string | undefined;
}

export function bindingChoiceOf(config: KuryrConfig): BindingChoice {
  return {
    portDriver: portDriverOf(config),
    integrationBridge: config.binding.integrationBridge,
    linkIface: config.binding.linkIface,
    forceVifType: config.binding.forceVifType,
  };
}

export interface RegistryParts {
  binding: BindingChoice;
  neutron: NeutronApi;
  host: HostAdapters;
  /** Told about undo steps that failed while a bind was rolled back. */
  onUndoFailure: UndoFailureReporter;
}

export function buildRegistry({ binding, neutron, host, onUndoFailure }: RegistryParts): BinderRegistry {
  const { portDriver, integrationBridge: bridge } = binding;
  const veth = (plug: ConstructorParameters<typeof VethBinder>[1]) => new VethBinder(host.links, plug, onUndoFailure);
  const vm = new VmPort(neutron, host.links, binding.linkIface);
  return new BinderRegistry({
    portDriver,
    table: {
      veth: {
        ovs: veth(new OvsPlug(host.ovs, bridge)),
        ovs_hybrid: veth(new OvsHybridPlug(host.links, host.ovs, bridge, onUndoFailure)),
        bridge: veth(new LinuxBridgePlug(host.links)),
        tap: veth(new TapPlug()),
      },
      ...(portDriver === 'nested' ? { nested: new MacvlanBinder(host.links, vm, onUndoFailure) } : {}),
      ...(portDriver === 'vlan' ? { vlan: new VlanBinder(neutron, host.links, vm, onUndoFailure) } : {}),
    },
    forceVifType: binding.forceVifType,
    vmPort: portDriver === 'veth' ? undefined : vm,
    links: host.links,
    ovs: host.ovs,
  });
}
