using System.Text.Json.Nodes;
using static Tiered.Kubernetes.Tests.Manifests;

namespace Tiered.Kubernetes.Tests;

/// <summary>
/// tests/k8s/validate.mjs, the contract the operator's tests rely on too: PATH… of YAML or JSON files or
/// directories; one line per object; exit 1 naming the object and the schema error when one is invalid.
/// </summary>
public sealed class ValidatorTests(RenderedManifests rendered) : IClassFixture<RenderedManifests>
{
    [Fact]
    public async Task An_object_that_breaks_the_schema_is_rejected_with_its_name_and_the_error()
    {
        var metadata = Find(rendered.Base, "StatefulSet", "tiered-metadata").DeepClone().AsObject();
        metadata["spec"]!["replicas"] = "three";
        var service = Find(rendered.Base, "Service", "tiered-broker").DeepClone().AsObject();
        service["spec"]!["ports"]![0]!["port"] = "grpc";
        var file = Path.Combine(rendered.Folder, "invalid.json");
        await File.WriteAllTextAsync(file, new JsonArray(metadata, service, Find(rendered.Base, "ConfigMap", "tiered-broker").DeepClone()).ToJsonString());

        var (exitCode, output, _) = await Tools.ValidateAsync(file);

        Assert.Equal(1, exitCode);
        Assert.Contains("INVALID  apps/v1 StatefulSet tiered-metadata", output);
        Assert.Contains("data/spec/replicas must be integer", output);
        Assert.Contains("INVALID  v1 Service tiered-broker", output);
        Assert.Contains("valid    v1 ConfigMap tiered-broker", output);
        Assert.Contains("1 valid, 2 invalid, 0 skipped", output);
    }

    [Fact]
    public async Task A_misspelt_field_is_rejected_as_the_api_server_would_unless_allowed()
    {
        var service = Find(rendered.Base, "Service", "tiered-metadata").DeepClone().AsObject();
        var spec = service["spec"]!.AsObject();
        spec["publishNotReadyAdresses"] = spec["publishNotReadyAddresses"]!.DeepClone();
        spec.Remove("publishNotReadyAddresses");
        var statefulSet = Find(rendered.Base, "StatefulSet", "tiered-bookie").DeepClone().AsObject();
        var container = Container(statefulSet);
        container["livenesProbe"] = container["livenessProbe"]!.DeepClone();
        var file = Path.Combine(rendered.Folder, "misspelt.json");
        await File.WriteAllTextAsync(file, new JsonArray(service, statefulSet).ToJsonString());

        var (exitCode, output, _) = await Tools.ValidateAsync(file);
        Assert.Equal(1, exitCode);
        Assert.Contains("INVALID  v1 Service tiered-metadata  (" + file + "): unknown field spec.publishNotReadyAdresses", output);
        Assert.Contains("INVALID  apps/v1 StatefulSet tiered-bookie  (" + file + "): unknown field spec.template.spec.containers[0].livenesProbe", output);

        (exitCode, output, _) = await Tools.ValidateAsync("--allow-unknown-fields", file);
        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task A_directory_is_read_recursively_custom_resources_are_skipped_and_a_definition_is_validated()
    {
        var folder = Directory.CreateDirectory(Path.Combine(rendered.Folder, "directory", "nested")).Parent!.FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "cluster.yaml"), """
            apiVersion: tiered.dev/v1alpha1
            kind: TieredCluster
            metadata:
              name: example
            spec:
              brokers: {replicas: 2}
            ---
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata:
              name: tieredclusters.tiered.dev
            spec:
              group: tiered.dev
              scope: Namespaced
              names: {kind: TieredCluster, plural: tieredclusters, singular: tieredcluster, listKind: TieredClusterList}
              versions:
                - name: v1alpha1
                  served: true
                  storage: true
                  subresources: {status: {}}
                  additionalPrinterColumns:
                    - {name: Brokers, type: integer, jsonPath: .status.brokers.ready}
                  schema:
                    openAPIV3Schema:
                      type: object
                      properties:
                        spec:
                          type: object
                          required: [brokers]
                          properties:
                            brokers:
                              type: object
                              properties:
                                replicas: {type: integer, minimum: 0, default: 2}
                            offload:
                              type: object
                              x-kubernetes-preserve-unknown-fields: true
                        status:
                          type: object
                          x-kubernetes-preserve-unknown-fields: true
            """);
        await File.WriteAllTextAsync(Path.Combine(folder, "nested", "list.json"), """
            {"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}]}
            """);
        await File.WriteAllTextAsync(Path.Combine(folder, "nested", "notes.txt"), "not a manifest");

        var (exitCode, output, _) = await Tools.ValidateAsync(folder);

        Assert.True(exitCode == 0, output);
        Assert.Contains("skipped  tiered.dev/v1alpha1 TieredCluster example", output);
        Assert.Contains("valid    apiextensions.k8s.io/v1 CustomResourceDefinition tieredclusters.tiered.dev", output);
        Assert.Contains("valid    v1 ConfigMap a", output);
        Assert.Contains("2 valid, 0 invalid, 1 skipped", output);

        // A definition that breaks its own schema is caught too.
        await File.WriteAllTextAsync(Path.Combine(folder, "nested", "bad-crd.yaml"), """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata: {name: broken.tiered.dev}
            spec:
              group: tiered.dev
              scope: Namespaced
              names: {kind: Broken, plural: brokens}
              versions: "v1alpha1"
            """);
        (exitCode, output, _) = await Tools.ValidateAsync(folder);
        Assert.Equal(1, exitCode);
        Assert.Contains("INVALID  apiextensions.k8s.io/v1 CustomResourceDefinition broken.tiered.dev", output);
    }

    [Fact]
    public async Task A_file_that_is_not_yaml_fails_the_run()
    {
        var file = Path.Combine(rendered.Folder, "broken.yaml");
        await File.WriteAllTextAsync(file, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n");
        var (exitCode, output, _) = await Tools.ValidateAsync(file);
        Assert.Equal(1, exitCode);
        Assert.Contains("cannot be parsed", output);
    }
}
