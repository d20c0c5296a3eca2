namespace Tiered.Security;

/// <summary>
/// Tiered's security: JWT tokens (keys, issuing, verifying a token into a role) and the authorization model
/// (super-users, tenant admins, produce/consume grants on namespaces, topics and subscriptions). Below the
/// broker: it knows nothing of topics' storage, only names and the policies it is given.
/// </summary>
internal static class SecurityAssembly;
